import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { connectionOf } from '../../../graphql/pagination';

export enum TaskStatus {
  TODO = 'TODO',
  IN_PROGRESS = 'IN_PROGRESS',
  DONE = 'DONE',
}
registerEnumType(TaskStatus, { name: 'TaskStatus' });

// `dueDate`, `project` and `assignee` are resolved per field (the latter two through the request's loaders).
@ObjectType()
export class Task {
  @Field(() => ID)
  id: string;

  @Field()
  title: string;

  @Field(() => String, { nullable: true })
  description: string | null;

  @Field(() => TaskStatus)
  status: TaskStatus;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;
}

export const TaskConnection = connectionOf(Task, 'Task');
