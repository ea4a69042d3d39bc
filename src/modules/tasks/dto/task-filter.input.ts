import { Field, ID, InputType } from '@nestjs/graphql';
import { IsEnum, IsOptional } from 'class-validator';
import { TaskStatus } from '../models/task.model';

/** Ids that name nothing in this tenant (absent, malformed, another tenant's) match no task. */
@InputType()
export class TaskFilter {
  @Field(() => ID, { nullable: true })
  projectId?: string | null;

  @Field(() => TaskStatus, { nullable: true })
  @IsOptional()
  @IsEnum(TaskStatus)
  status?: TaskStatus | null;

  @Field(() => ID, { nullable: true })
  assigneeId?: string | null;
}
