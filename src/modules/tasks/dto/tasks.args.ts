import { ArgsType, Field } from '@nestjs/graphql';
import { Type } from 'class-transformer';
import { IsOptional, ValidateNested } from 'class-validator';
import { PageArgs } from '../../../graphql/pagination';
import { TaskFilter } from './task-filter.input';
import { TaskOrder } from './task-order.input';

@ArgsType()
export class TasksArgs extends PageArgs {
  @Field(() => TaskFilter, { nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => TaskFilter)
  filter?: TaskFilter | null;

  @Field(() => TaskOrder, { nullable: true, description: 'Newest first (CREATED_AT DESC) when absent.' })
  @IsOptional()
  @ValidateNested()
  @Type(() => TaskOrder)
  orderBy?: TaskOrder | null;
}
