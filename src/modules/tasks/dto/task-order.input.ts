import { Field, InputType, registerEnumType } from '@nestjs/graphql';
import { IsEnum } from 'class-validator';
import { OrderDirection } from '../../../graphql/ordering';

export enum TaskOrderField {
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
  DUE_DATE = 'DUE_DATE',
  TITLE = 'TITLE',
}
registerEnumType(TaskOrderField, { name: 'TaskOrderField', description: 'Tasks without a due date come last in DUE_DATE order.' });

@InputType({ description: 'Ties are broken by id, in the same direction.' })
export class TaskOrder {
  @Field(() => TaskOrderField)
  @IsEnum(TaskOrderField)
  field: TaskOrderField;

  @Field(() => OrderDirection, { defaultValue: OrderDirection.ASC })
  @IsEnum(OrderDirection)
  direction: OrderDirection;
}
