import { Field, ID, ObjectType } from '@nestjs/graphql';
import { GraphQLJSON } from '../../../graphql/json.scalar';
import { connectionOf } from '../../../graphql/pagination';
import { User } from '../../users/models/user.model';

@ObjectType({ description: 'One change in this tenant: who did what to which entity, with redacted before/after snapshots.' })
export class AuditEntry {
  @Field(() => ID)
  id: string;

  @Field(() => User, { nullable: true, description: 'Null when nobody was authenticated (a failed login).' })
  actor: User | null;

  @Field({ description: 'What happened, e.g. user.create, auth.logout, project.update.' })
  action: string;

  @Field({ description: 'User, Project, RefreshTokenFamily, …' })
  entityType: string;

  @Field(() => ID, { nullable: true })
  entityId: string | null;

  @Field(() => GraphQLJSON, { nullable: true, description: 'The entity before the change; secrets are never recorded.' })
  before: unknown;

  @Field(() => GraphQLJSON, { nullable: true, description: 'The entity after the change; secrets are never recorded.' })
  after: unknown;

  @Field()
  at: Date;
}

export const AuditEntryConnection = connectionOf(AuditEntry, 'AuditEntry');
