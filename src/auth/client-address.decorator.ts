import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { requestOf } from './request-of.util';

/** The client's address as Express sees it (the socket's peer, or X-Forwarded-For per Express's `trust proxy`). */
export const ClientAddress = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const req = requestOf(context);
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
});
