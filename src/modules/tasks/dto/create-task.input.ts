import { Field, ID, InputType } from '@nestjs/graphql';
import { IsEnum, IsOptional, Length, Matches, MaxLength } from 'class-validator';
import { TaskStatus } from '../models/task.model';
import { IsDay } from './due-date.util';

@InputType()
export class CreateTaskInput {
  @Field(() => ID, { description: 'An ACTIVE project of the tenant.' })
  projectId: string;

  @Field()
  @Length(1, 200)
  @Matches(/\S/, { message: 'title must not be blank' })
  title: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(10_000)
  description?: string | null;

  @Field(() => TaskStatus, { nullable: true, description: 'TODO when absent.' })
  @IsOptional()
  @IsEnum(TaskStatus)
  status?: TaskStatus | null;

  @Field(() => String, { nullable: true, description: 'A calendar date, YYYY-MM-DD.' })
  @IsOptional()
  @IsDay()
  dueDate?: string | null;

  @Field(() => ID, { nullable: true, description: 'An ACTIVE user of the tenant.' })
  @IsOptional()
  assigneeId?: string | null;
}
