import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_JWT_SECRET } from '../factories/app';

/** The compiled CLI, as `npm run tenants` runs it (built by `npm run pretest`). */
export const TENANTS_CLI = join(__dirname, '..', '..', 'dist', 'scripts', 'tenants.js');

export interface CliResult {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function assertCliBuilt(): void {
  if (!existsSync(TENANTS_CLI)) throw new Error(`${TENANTS_CLI} is missing: run \`npm run pretest\` first`);
}

/** Starts `tenants <args>` against `databaseUrl` in its own process (`extraEnv`: e.g. DATABASES); `done` settles when it exits. */
export function spawnTenantsCli(databaseUrl: string, args: string[], stdin = '', extraEnv: Record<string, string> = {}) {
  const env = { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'warn', ...extraEnv };
  const child = spawn(process.execPath, [TENANTS_CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString('utf8')));
  child.stdin.end(stdin);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, ...out }));
  });
  return { child, done };
}

export function runTenantsCli(databaseUrl: string, args: string[], stdin = '', extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return spawnTenantsCli(databaseUrl, args, stdin, extraEnv).done;
}

/** The `--json` report a command wrote to stdout; fails with its stderr when there is none. */
export function jsonReport<T>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`No JSON report (exit ${result.code}):\n${result.stderr}`);
  }
}

/** Polls `check` every 20 ms until it returns something other than undefined; fails after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
