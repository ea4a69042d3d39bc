import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { connectionOf } from '../../../graphql/pagination';

export enum ProjectStatus {
  ACTIVE = 'ACTIVE',
  ARCHIVED = 'ARCHIVED',
}
registerEnumType(ProjectStatus, { name: 'ProjectStatus', description: 'ARCHIVED projects take no new tasks and do not count against the plan.' });

// `owner` and `tasks` are resolved per field, through the request's loaders.
@ObjectType()
export class Project {
  @Field(() => ID)
  id: string;

  @Field({ description: 'Unique within the tenant.' })
  name: string;

  @Field(() => String, { nullable: true })
  description: string | null;

  @Field(() => ProjectStatus)
  status: ProjectStatus;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;
}

export const ProjectConnection = connectionOf(Project, 'Project');
