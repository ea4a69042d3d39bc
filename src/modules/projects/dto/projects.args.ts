import { ArgsType, Field } from '@nestjs/graphql';
import { Type } from 'class-transformer';
import { IsOptional, ValidateNested } from 'class-validator';
import { PageArgs } from '../../../graphql/pagination';
import { ProjectFilter } from './project-filter.input';
import { ProjectOrder } from './project-order.input';

@ArgsType()
export class ProjectsArgs extends PageArgs {
  @Field(() => ProjectFilter, { nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => ProjectFilter)
  filter?: ProjectFilter | null;

  @Field(() => ProjectOrder, { nullable: true, description: 'Newest first (CREATED_AT DESC) when absent.' })
  @IsOptional()
  @ValidateNested()
  @Type(() => ProjectOrder)
  orderBy?: ProjectOrder | null;
}
