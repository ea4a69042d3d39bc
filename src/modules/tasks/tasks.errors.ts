import { AppError, ErrorCode } from '../../graphql/app-error';

/** Why a task operation was refused (project refusals come from projects.errors). */
export enum TasksErrorCode {
  /** Absent, malformed, or another tenant's: indistinguishable on purpose. */
  TASK_NOT_FOUND = 'TASK_NOT_FOUND',
  /** Only the project's owner, an admin, or (for updates) the task's assignee may change a task. */
  TASK_NOT_EDITABLE = 'TASK_NOT_EDITABLE',
  /** The assignee id names no user of this tenant. */
  ASSIGNEE_NOT_FOUND = 'ASSIGNEE_NOT_FOUND',
}

const MESSAGES: Record<TasksErrorCode, string> = {
  TASK_NOT_FOUND: 'Task not found',
  TASK_NOT_EDITABLE: "Only the project's owner, an admin or the assignee may change this task",
  ASSIGNEE_NOT_FOUND: 'Assignee not found',
};

function clientCode(code: TasksErrorCode): ErrorCode {
  switch (code) {
    case TasksErrorCode.TASK_NOT_FOUND:
    case TasksErrorCode.ASSIGNEE_NOT_FOUND:
      return ErrorCode.NOT_FOUND;
    case TasksErrorCode.TASK_NOT_EDITABLE:
      return ErrorCode.FORBIDDEN;
  }
}

export class TasksError extends AppError {
  constructor(readonly reason: TasksErrorCode) {
    super(clientCode(reason), MESSAGES[reason]);
  }
}
