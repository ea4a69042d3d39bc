import { Field, ID, InputType } from '@nestjs/graphql';
import { IsEnum, IsOptional, Length, Matches, MaxLength } from 'class-validator';
import { TaskStatus } from '../models/task.model';
import { IsDay } from './due-date.util';

/** Absent fields stay as they are; null clears description, dueDate and assigneeId. */
@InputType()
export class UpdateTaskInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200)
  @Matches(/\S/, { message: 'title must not be blank' })
  title?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(10_000)
  description?: string | null;

  @Field(() => TaskStatus, { nullable: true })
  @IsOptional()
  @IsEnum(TaskStatus)
  status?: TaskStatus | null;

  @Field(() => String, { nullable: true, description: 'A calendar date, YYYY-MM-DD; null clears it.' })
  @IsOptional()
  @IsDay()
  dueDate?: string | null;

  @Field(() => ID, { nullable: true, description: 'An ACTIVE user of the tenant; null unassigns.' })
  @IsOptional()
  assigneeId?: string | null;
}
