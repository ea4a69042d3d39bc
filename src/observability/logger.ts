import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/config';
import { TenantContext } from '../tenancy/tenant-context';

const CENSOR = '[redacted]';

// Structured fields that may carry secrets, at any of the first two levels of nesting.
const SECRET_KEYS = ['authorization', 'cookie', 'password', 'token', 'accessToken', 'secret', 'jwtSecret'];
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
];

// Free text (messages, stacks) is scrubbed too: bearer credentials, JWTs, and password/token values.
const TEXT_SECRETS: [RegExp, string][] = [
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, `Bearer ${CENSOR}`],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, CENSOR],
  [/("?(?:password|token|accessToken|secret)"?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}]+)/gi, `$1"${CENSOR}"`],
];

export function scrubSecrets(text: string): string {
  return TEXT_SECRETS.reduce((result, [pattern, replacement]) => result.replace(pattern, replacement), text);
}

/**
 * The process's root pino logger. Every line written while a request runs carries its `requestId` and
 * `tenantId`, read from the tenant context (AsyncLocalStorage) rather than passed around.
 */
export function createRootLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'tenantry' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    mixin() {
      const context = TenantContext.current();
      return context ? { requestId: context.requestId, tenantId: context.tenant.id } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Nest's LoggerService over pino: `new Logger('Ctx').log(…)` anywhere becomes one JSON line with `context`. */
export class PinoLoggerService implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    // Nest calls error(message, stack?, context?).
    const context = params.length > 0 && typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    const stack = typeof params[0] === 'string' ? (params.shift() as string) : undefined;
    this.write('error', message, params, context, stack);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  // LOG_LEVEL=debug has always included Nest's verbose messages.
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: pino.Level, message: unknown, params: unknown[], context?: string, stack?: string): void {
    if (!this.pino.isLevelEnabled(level)) return;
    if (context === undefined && params.length > 0 && typeof params[params.length - 1] === 'string') context = params.pop() as string;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = scrubSecrets(stack);
    if (message instanceof Error) {
      fields.err = { type: message.name, message: scrubSecrets(message.message), stack: scrubSecrets(message.stack ?? '') };
      this.pino[level](fields, scrubSecrets(message.message));
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...(message as object) });
    } else {
      this.pino[level](fields, scrubSecrets(String(message)));
    }
  }
}
