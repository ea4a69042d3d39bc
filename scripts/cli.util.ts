// Shared plumbing of the tenants CLI: argument parsing, the application context, exit codes.
import { NestFactory } from '@nestjs/core';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AppModule } from '../src/app.module';
import { nestLogLevels, resolveRuntime } from '../src/bootstrap';
import { loadConfig } from '../src/config/config';

/** Exit codes of every `npm run tenants -- …` command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, locked: 3, checksum: 4 } as const;

export class UsageError extends Error {}

export type Context = Awaited<ReturnType<typeof NestFactory.createApplicationContext>>;
export type Command = (args: string[]) => Promise<number>;

/** Boots the operations context (database, control plane, tenancy; no HTTP), runs `run`, and closes it. */
export async function withContext(run: (app: Context) => Promise<number>): Promise<number> {
  // Progress and logs go to stderr: stdout carries only the command's output (e.g. --json).
  const runtime = await resolveRuntime(loadConfig(), (message) => process.stderr.write(`${message}\n`));
  const app = await NestFactory.createApplicationContext(AppModule.forOperations(runtime.config), {
    logger: nestLogLevels('warn'),
  });
  try {
    return await run(app);
  } finally {
    await app.close();
    await runtime.stop();
  }
}

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
