import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// Runs in child processes (the compiled code in dist/, as `npm start` and the CLI do): the API and the CLI
// are separate processes sharing one data directory.
const CHILD = `
const { startEmbeddedPostgres } = require(${JSON.stringify(join(__dirname, '../../dist/src/database/embedded-postgres.js'))});
startEmbeddedPostgres(process.argv[1]).then(async (db) => {
  console.log(JSON.stringify({ url: db.url, owned: db.owned }));
  process.stdin.on('data', async () => { await db.stop(); process.exit(0); });
});`;

function startChild(dir: string) {
  const child = spawn(process.execPath, ['-e', CHILD, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const first = new Promise<{ url: string; owned: boolean }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  const stop = () => new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.stdin!.write('stop\n');
  });
  return { first, stop };
}

describe('embedded PostgreSQL', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenantry-embedded-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is started once per data directory: a second process reuses the running postmaster', async () => {
    const server = startChild(dir);
    const started = await server.first;
    const cli = startChild(dir);
    const reused = await cli.first;
    expect(started.owned).toBe(true);
    expect(reused).toEqual({ url: started.url, owned: false });
    const pid = (await readFile(join(dir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0];
    await cli.stop();
    // The reusing process leaves the postmaster to its owner.
    expect(() => process.kill(Number(pid), 0)).not.toThrow();
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(() => process.kill(Number(pid), 0)).toThrow();
  });
});
