import { ValidationError, ValidationPipe } from '@nestjs/common';
import { badUserInput } from './app-error';

/** Validates GraphQL inputs with class-validator; failures are BAD_USER_INPUT with `extensions.fields`. */
export function inputValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    forbidUnknownValues: false,
    exceptionFactory: (errors) => {
      const fields: Record<string, string> = {};
      collect(errors, '', fields);
      return badUserInput('Invalid input', fields);
    },
  });
}

function collect(errors: ValidationError[], prefix: string, fields: Record<string, string>): void {
  for (const error of errors) {
    const path = prefix + error.property;
    if (error.constraints) fields[path] = Object.values(error.constraints).join('; ');
    if (error.children?.length) collect(error.children, `${path}.`, fields);
  }
}
