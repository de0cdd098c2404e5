// `cdk synth` with real esbuild bundling, then the bundled handler run by plain Node against the test MariaDB.
import { build } from 'esbuild';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliesTo, ROUTINES, TASKS, type TaskDefinition } from '../lib/catalogue';
import { loadConfigFile } from '../lib/config/load';
import { esbuildOptions } from '../infra/bundle-options';
import { startSesLocal, type SesLocal } from '../dev/ses-emulator';
import { adminConnection, freshSchema, serverUrl } from './support/db';
import { repoRoot } from './support/synth';
import { routineBatches } from '../lib/config/routine-batches';

let admin: mysql.Connection;
let out: string;
let ses: SesLocal;

beforeAll(async () => {
  admin = await adminConnection();
  // The example config's prod target maintains schema `app`.
  ses = await startSesLocal();
  out = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-synth-'));
  const synth = spawnSync('npx', ['cdk', 'synth', '-q', '-o', out], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, CDK_DEFAULT_REGION: 'eu-central-1' } });
  if (synth.status !== 0) throw new Error(`cdk synth failed:\n${synth.stderr}`);
  // After the (slow) synth: InnoDB computes missing persistent statistics again when a table evicted from the table
  // cache is reopened, which other files on the shared server make likely while the synth runs.
  await freshSchema(admin, 'app');
  await admin.query('CREATE TABLE app.orders (id INT PRIMARY KEY) ENGINE=InnoDB');
  await admin.query(`DELETE FROM mysql.innodb_table_stats WHERE database_name = 'app'`);
});
afterAll(async () => {
  await ses?.stop();
  await admin.end();
});

function assetDirOf(taskId: string): string {
  const template = JSON.parse(readFileSync(path.join(out, 'DbMaint.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }> };
  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties['FunctionName'] === `dbmaint-${taskId}`);
  expect(fn, taskId).toBeDefined();
  return path.join(out, fn!.Metadata!['aws:asset:path']!);
}

describe('synthesized bundle', () => {
  it('emits one function per task, a state machine per routine and one fleet state machine per routine, a schedule per standalone task and target, and one per routine batch', () => {
    const template = readFileSync(path.join(out, 'DbMaint.template.json'), 'utf8');
    expect(template.match(/"Type": "AWS::Lambda::Function"/g)).toHaveLength(TASKS.length);
    const nested = readdirSync(out).filter((f) => f.endsWith('.nested.template.json'));
    const schedules = nested.map((f) => readFileSync(path.join(out, f), 'utf8').match(/"Type": "AWS::Scheduler::Schedule"/g)?.length ?? 0);
    const example = loadConfigFile(path.join(repoRoot, 'config/example.json'));
    const standalone = (TASKS as readonly TaskDefinition[]).filter((task) => task.schedule);
    const expected = example.targets.reduce((n, t) => n + standalone.filter((task) => appliesTo(task, t, example)).length, 0);
    expect(schedules.reduce((a, b) => a + b, 0)).toBe(expected);
    // The routines' schedules start the fleet executions: in the main template, one per batch of targets sharing a schedule.
    const batches = ROUTINES.reduce((n, r) => n + routineBatches(example, r).length, 0);
    expect(template.match(/"Type": "AWS::Scheduler::Schedule"/g)).toHaveLength(batches);
    expect(template.match(/"Type": "AWS::StepFunctions::StateMachine"/g)).toHaveLength(ROUTINES.length * 2);
  });

  it('runs the bundled handler with its bundled config under plain Node', () => {
    const dir = assetDirOf('analyze-tables');
    expect(existsSync(path.join(dir, 'index.js'))).toBe(true);
    const bundled = JSON.parse(readFileSync(path.join(dir, 'dbmaint.config.json'), 'utf8')) as { targets: { name: string }[] };
    expect(bundled.targets.map((t) => t.name)).toEqual(['prod', 'reporting']);

    const script = path.join(out, 'invoke.cjs');
    writeFileSync(
      script,
      `const { handler } = require(${JSON.stringify(path.join(dir, 'index.js'))});
       const ctx = { functionName: 'dbmaint-analyze-tables', awsRequestId: 'r1', getRemainingTimeInMillis: () => 900000 };
       handler({ target: 'prod', dryRun: true }, ctx).then((r) => console.log('RESULT ' + JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });`,
    );
    const run = spawnSync(process.execPath, [script], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'], LAMBDA_TASK_ROOT: dir, DBMAINT_DATABASE_URL: serverUrl(), AWS_REGION: 'eu-central-1' },
    });
    expect(run.status, run.stderr).toBe(0);
    const resultLine = run.stdout.split('\n').find((l) => l.startsWith('RESULT '))!;
    const result = JSON.parse(resultLine.slice(7)) as { status: string; target: string; result: { tables: { table: string; action: string }[] } };
    expect(result).toMatchObject({ status: 'succeeded', target: 'prod' });
    expect(result.result.tables).toEqual([expect.objectContaining({ table: 'orders', action: 'would-analyze' })]);
    // Powertools wrote the EMF document and structured logs to stdout, as in Lambda.
    expect(run.stdout).toMatch(/"_aws":\{"Timestamp":\d+,"CloudWatchMetrics":\[\{"Namespace":"DbMaint"/);
    expect(run.stdout).toMatch(/"message":"task finished"/);
  });
});

/** 1 MB as the finding counts it: a million bytes. */
const MAX_BUNDLE_BYTES = 1_000_000;

async function runBundled(taskId: string, env: Record<string, string>, payload: Record<string, unknown> = { target: 'prod', dryRun: true }) {
  const dir = assetDirOf(taskId);
  const script = path.join(out, `invoke-${taskId}.cjs`);
  writeFileSync(
    script,
    `const { handler } = require(${JSON.stringify(path.join(dir, 'index.js'))});
     const ctx = { functionName: 'dbmaint-${taskId}', awsRequestId: 'r1', getRemainingTimeInMillis: () => 300000 };
     handler(${JSON.stringify(payload)}, ctx).then((r) => console.log('RESULT ' + JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });`,
  );
  // Not spawnSync: the SES emulator answers from this process's event loop.
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env['PATH'], LAMBDA_TASK_ROOT: dir, DBMAINT_DATABASE_URL: serverUrl(), AWS_REGION: 'eu-central-1', ...env },
  });
  const run = { stdout: '', stderr: '', status: null as number | null };
  child.stdout.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
  run.status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return { run, result: line ? (JSON.parse(line.slice(7)) as { status: string; result: { mails?: { sent: boolean; error?: string }[] } }) : undefined };
}

describe('per-task bundles', () => {
  it('each bundle carries its own task: at most 1 MB, no source map by default, SES only where mail is sent', () => {
    for (const task of TASKS as readonly TaskDefinition[]) {
      const dir = assetDirOf(task.id);
      const js = readFileSync(path.join(dir, 'index.js'), 'utf8');
      expect(statSync(path.join(dir, 'index.js')).size, task.id).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
      expect(existsSync(path.join(dir, 'index.js.map')), task.id).toBe(false);
      // The SES client's command names travel as strings even minified.
      expect(js.includes('SendEmail'), `${task.id} carries the SES client`).toBe(task.sendsMail);
      // The Lambda-only stand-ins replaced iconv-lite's code pages and the SDK's profile/SSO/STS credential chain.
      expect(js).toContain('carries only the encodings Node.js has built in');
      expect(js).toContain('takes AWS credentials from the Lambda environment');
      expect(js).not.toContain('credential-provider-sso');
    }
  });

  it('a mail task’s bundle sends through SES with the role credentials Lambda puts in the environment', async () => {
    await ses.clear();
    const creds = { AWS_ACCESS_KEY_ID: 'AKIDBUNDLETEST', AWS_SECRET_ACCESS_KEY: 'bundle-test-secret', AWS_SESSION_TOKEN: 'token' };
    const { run, result } = await runBundled('daily-report', { ...creds, AWS_ENDPOINT_URL_SES: ses.endpoint }, { target: 'prod', dryRun: false });
    expect(run.status, run.stderr).toBe(0);
    expect(result?.status, run.stdout).toBe('succeeded');
    const mails = await ses.emails();
    expect(mails.map((m) => m.destination.to)).toEqual([['admin@example.com']]);
    expect(mails[0]!.subject).toMatch(/prod/);
  });

  it('without credentials in the environment the bundle says where it looks, and the report is not sent', async () => {
    await ses.clear();
    const { run } = await runBundled('daily-report', { AWS_ENDPOINT_URL_SES: ses.endpoint }, { target: 'prod', dryRun: false });
    expect(run.stdout).toContain("dbmaint's Lambda bundle takes AWS credentials from the Lambda environment");
    expect(await ses.emails()).toEqual([]);
  });

  it('reads latin1, cp1250, gbk, sjis and utf16 columns through the bundled session without iconv-lite', async () => {
    await freshSchema(admin, 'bundle_cs');
    await admin.query(
      `CREATE TABLE bundle_cs.t (id INT PRIMARY KEY, l1 VARCHAR(20) CHARACTER SET latin1, ce VARCHAR(20) CHARACTER SET cp1250,
        gb VARCHAR(20) CHARACTER SET gbk, sj VARCHAR(20) CHARACTER SET sjis, u16 VARCHAR(20) CHARACTER SET utf16) ENGINE=InnoDB`,
    );
    const row = { id: 1, l1: 'Müller €', ce: 'Łódź Žižkov', gb: '数据库维护', sj: 'データベース', u16: 'Ωmega 😀' };
    await admin.query('SET NAMES utf8mb4');
    await admin.query('INSERT INTO bundle_cs.t SET ?', [row]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-probe-'));
    const outfile = path.join(dir, 'probe.cjs');
    await build({ ...esbuildOptions(repoRoot, path.join(repoRoot, 'test/support/charset-probe.ts'), outfile, { sourceMap: false }), metafile: false });
    const run = spawnSync(process.execPath, [outfile, serverUrl(), 'bundle_cs.t'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(outfile, 'utf8')).toContain('carries only the encodings Node.js has built in');
    expect(JSON.parse(run.stdout.split('\n').find((l) => l.startsWith('ROWS '))!.slice(5))).toEqual([row]);
  });
});
