import { ValidateBy, type ValidationOptions } from 'class-validator';

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A `YYYY-MM-DD` calendar day that exists (no 2026-02-30), years 1900 to 2999; as a UTC midnight Date. */
export function parseDay(value: string): Date | null {
  const match = DAY.exec(value);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (year < 1900 || year > 2999 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return date;
}

export function formatDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** class-validator rule: null/undefined pass (IsOptional decides), strings must be a parseDay day. */
export function IsDay(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDay',
      validator: {
        validate: (value: unknown) => value == null || (typeof value === 'string' && parseDay(value) !== null),
        defaultMessage: () => 'must be a calendar date YYYY-MM-DD between 1900 and 2999',
      },
    },
    options,
  );
}
