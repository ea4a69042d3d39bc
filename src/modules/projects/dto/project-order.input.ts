import { Field, InputType, registerEnumType } from '@nestjs/graphql';
import { IsEnum } from 'class-validator';
import { OrderDirection } from '../../../graphql/ordering';

export enum ProjectOrderField {
  NAME = 'NAME',
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
}
registerEnumType(ProjectOrderField, { name: 'ProjectOrderField' });

@InputType({ description: 'Ties are broken by id, in the same direction.' })
export class ProjectOrder {
  @Field(() => ProjectOrderField)
  @IsEnum(ProjectOrderField)
  field: ProjectOrderField;

  @Field(() => OrderDirection, { defaultValue: OrderDirection.ASC })
  @IsEnum(OrderDirection)
  direction: OrderDirection;
}
