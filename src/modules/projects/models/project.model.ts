import { Field, ID, ObjectType } from '@nestjs/graphql';
import { connectionOf } from '../../../graphql/pagination';
import { User } from '../../users/models/user.model';

@ObjectType()
export class Project {
  @Field(() => ID)
  id: string;

  @Field()
  name: string;

  @Field(() => String, { nullable: true })
  description: string | null;

  @Field(() => User)
  owner: User;

  @Field()
  createdAt: Date;
}

export const ProjectConnection = connectionOf(Project, 'Project');
