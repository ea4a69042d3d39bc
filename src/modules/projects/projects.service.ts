import { Injectable } from '@nestjs/common';
import { AppError, badUserInput, ErrorCode } from '../../graphql/app-error';
import { DEFAULT_PAGE_SIZE, decodeCursor, isUuid, toConnection, type Connection } from '../../graphql/pagination';
import type { AuthenticatedUser } from '../../tenancy/tenant-context';
import { AuditService } from '../audit/audit.service';
import type { CreateProjectInput } from './dto/create-project.input';
import type { UpdateProjectInput } from './dto/update-project.input';
import { ProjectsRepository, type ProjectRecord } from './projects.repository';

@Injectable()
export class ProjectsService {
  constructor(
    private readonly projects: ProjectsRepository,
    private readonly audit: AuditService,
  ) {}

  async list(first = DEFAULT_PAGE_SIZE, after?: string | null): Promise<Connection<ProjectRecord>> {
    const keyset = after == null ? undefined : decodeCursor(after);
    const [rows, total] = await Promise.all([this.projects.list(first + 1, keyset), this.projects.count()]);
    return toConnection(rows, first, after ?? undefined, total);
  }

  /** Absent, malformed and other tenants' ids all read as null. */
  get(id: string): Promise<ProjectRecord | null> {
    return isUuid(id) ? this.projects.getById(id) : Promise.resolve(null);
  }

  async create(user: AuthenticatedUser, input: CreateProjectInput): Promise<ProjectRecord> {
    const project = await this.projects.create({ name: input.name, description: input.description ?? null, ownerId: user.id });
    await this.audit.record({ action: 'project.create', entityType: 'Project', entityId: project.id, after: auditView(project) });
    return project;
  }

  async update(user: AuthenticatedUser, id: string, input: UpdateProjectInput): Promise<ProjectRecord> {
    if (input.name === null) throw badUserInput('Invalid project', { name: 'cannot be null' });
    const before = await this.requireEditable(user, id);
    const updated = await this.projects.update(id, { name: input.name, description: input.description });
    if (!updated) throw notFound();
    await this.audit.record({ action: 'project.update', entityType: 'Project', entityId: id, before: auditView(before), after: auditView(updated) });
    return updated;
  }

  async delete(user: AuthenticatedUser, id: string): Promise<boolean> {
    const before = await this.requireEditable(user, id);
    if (!(await this.projects.delete(id))) throw notFound();
    await this.audit.record({ action: 'project.delete', entityType: 'Project', entityId: id, before: auditView(before) });
    return true;
  }

  // Owners and admins may change a project; anyone else in the tenant gets FORBIDDEN.
  private async requireEditable(user: AuthenticatedUser, id: string): Promise<ProjectRecord> {
    const project = await this.get(id);
    if (!project) throw notFound();
    if (project.ownerId !== user.id && user.role !== 'ADMIN') {
      throw new AppError(ErrorCode.FORBIDDEN, 'Only the owner or an admin may change this project');
    }
    return project;
  }
}

// Absent and foreign ids must be indistinguishable.
function notFound(): AppError {
  return new AppError(ErrorCode.NOT_FOUND, 'Project not found');
}

// The project's own columns: the owner is referenced by id, not copied.
function auditView({ owner: _owner, ...project }: ProjectRecord) {
  return project;
}
