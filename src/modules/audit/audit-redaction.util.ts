// Keys whose values never reach the audit log, at any depth: passwords, hashes, tokens, secrets.
const SECRET_KEY = /password|hash|token|secret/i;

export const REDACTED = '[redacted]';

/** A JSON-safe copy of `value` with secret-looking keys replaced: callers should not pass secrets, this makes sure. */
export function redact(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, field]) => field !== undefined)
        .map(([key, field]) => [key, SECRET_KEY.test(key) ? REDACTED : redact(field)]),
    );
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}
