import { AppError, ErrorCode } from '../../graphql/app-error';

/** Why a project operation was refused. */
export enum ProjectsErrorCode {
  /** Absent, malformed, or another tenant's: indistinguishable on purpose. */
  PROJECT_NOT_FOUND = 'PROJECT_NOT_FOUND',
  PROJECT_NAME_TAKEN = 'PROJECT_NAME_TAKEN',
  /** Only the owner or an admin may change a project (or its tasks). */
  PROJECT_NOT_EDITABLE = 'PROJECT_NOT_EDITABLE',
  PROJECT_ARCHIVED = 'PROJECT_ARCHIVED',
}

const MESSAGES: Record<ProjectsErrorCode, string> = {
  PROJECT_NOT_FOUND: 'Project not found',
  PROJECT_NAME_TAKEN: 'A project with this name already exists',
  PROJECT_NOT_EDITABLE: 'Only the owner or an admin may change this project',
  PROJECT_ARCHIVED: 'The project is archived',
};

function clientCode(code: ProjectsErrorCode): ErrorCode {
  switch (code) {
    case ProjectsErrorCode.PROJECT_NOT_FOUND:
      return ErrorCode.NOT_FOUND;
    case ProjectsErrorCode.PROJECT_NAME_TAKEN:
    case ProjectsErrorCode.PROJECT_ARCHIVED:
      return ErrorCode.CONFLICT;
    case ProjectsErrorCode.PROJECT_NOT_EDITABLE:
      return ErrorCode.FORBIDDEN;
  }
}

export class ProjectsError extends AppError {
  constructor(readonly reason: ProjectsErrorCode) {
    super(clientCode(reason), MESSAGES[reason]);
  }
}
