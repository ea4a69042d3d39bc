// `node dist/scripts/bench/provisioning.js [--count N] [--json]` (after `npm run build`): how long creating a tenant
// takes — registry row, schema, every tenant migration, the admin's argon2id hash — through the real provisioner,
// one create after another, in a scratch database on the configured (or embedded) PostgreSQL.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { hashPassword } from '../../src/auth/password.util';
import { nestLogLevels, resolveRuntime } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/config';
import { PROVISIONING_FAULTS, TenantProvisioner, type ProvisioningStep } from '../../src/tenancy/tenant-provisioner.service';
import { parse } from '../cli.util';
import { percentiles } from './load';

const log = (message: string) => process.stderr.write(`${message}\n`);

async function main(argv: string[]): Promise<void> {
  const { values } = parse(argv, { count: { type: 'string' }, json: { type: 'boolean' } });
  const count = Number(values.count ?? 50);
  const runtime = await resolveRuntime(loadConfig(), log);
  const dbName = `tenantry_bench_${randomBytes(4).toString('hex')}`;
  const url = new URL(runtime.config.databaseUrl);
  url.pathname = `/${dbName}`;
  await admin(runtime.config.databaseUrl, `CREATE DATABASE ${dbName}`);
  try {
    const config = { ...runtime.config, databaseUrl: url.toString(), seedDemo: false };
    // The provisioner's step seam (a global module, as in the provisioning tests) timestamps each step.
    let marks: { step: ProvisioningStep | 'start' | 'end'; at: bigint }[] = [];
    const mark = (step: ProvisioningStep) => void marks.push({ step, at: process.hrtime.bigint() });
    const seam = { module: class StepTimes {}, global: true, providers: [{ provide: PROVISIONING_FAULTS, useValue: mark }], exports: [PROVISIONING_FAULTS] };
    const app = await NestFactory.createApplicationContext(
      { module: class ProvisioningBench {}, imports: [AppModule.forOperations(config), seam] },
      { logger: nestLogLevels('warn') },
    );
    try {
      const provisioner = app.get(TenantProvisioner);
      const prefix = `bench-${randomBytes(3).toString('hex')}`;
      const create = (n: number) =>
        provisioner.create({ id: `${prefix}-${n}`, name: `Bench ${n}`, adminEmail: `admin@${n}.bench.test`, adminPassword: 'bench-password-1234' });
      await create(0); // warm-up: first connections, first client, JIT
      const creates: number[] = [];
      const steps = new Map<string, number[]>();
      for (let n = 1; n <= count; n++) {
        marks = [{ step: 'start', at: process.hrtime.bigint() }];
        await create(n);
        marks.push({ step: 'end', at: process.hrtime.bigint() });
        creates.push(Number(marks.at(-1)!.at - marks[0].at) / 1e6);
        // Each step's time is measured up to the moment it finished: "register" includes validation and locking.
        for (let i = 1; i < marks.length; i++) {
          const name = marks[i].step === 'end' ? 'commit' : marks[i].step;
          steps.set(name, [...(steps.get(name) ?? []), Number(marks[i].at - marks[i - 1].at) / 1e6]);
        }
      }
      const hashes: number[] = [];
      for (let n = 0; n < Math.min(count, 20); n++) {
        const started = process.hrtime.bigint();
        await hashPassword('bench-password-1234');
        hashes.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      const report = {
        count,
        createMs: percentiles(creates),
        stepMs: Object.fromEntries([...steps].map(([step, times]) => [step, percentiles(times)])),
        argon2HashMs: percentiles(hashes),
      };
      if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else {
        log(`create: ${describe(report.createMs)}`);
        for (const [step, p] of Object.entries(report.stepMs)) log(`  ${step.padEnd(11)} ${describe(p)}`);
        log(`argon2id hash alone: ${describe(report.argon2HashMs)}`);
      }
    } finally {
      await app.close();
    }
  } finally {
    await admin(runtime.config.databaseUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await runtime.stop();
  }
}

function describe(p: Record<string, number>): string {
  return Object.entries(p).map(([key, value]) => `${key} ${value.toFixed(1)} ms`).join(', ');
}

async function admin(databaseUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  log((error as Error).stack ?? String(error));
  process.exit(1);
});
