// `cdk synth` with real esbuild bundling, then the bundled handler run by plain Node against the test MariaDB.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliesTo, ROUTINES, TASKS, type TaskDefinition } from '../lib/catalogue';
import { loadConfigFile } from '../lib/config/load';
import { adminConnection, freshSchema, serverUrl } from './support/db';
import { repoRoot } from './support/synth';

let admin: mysql.Connection;
let out: string;

beforeAll(async () => {
  admin = await adminConnection();
  // The example config's prod target maintains schema `app`.
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
  await admin.end();
});

function assetDirOf(taskId: string): string {
  const template = JSON.parse(readFileSync(path.join(out, 'DbMaint.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }> };
  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties['FunctionName'] === `dbmaint-${taskId}`);
  expect(fn, taskId).toBeDefined();
  return path.join(out, fn!.Metadata!['aws:asset:path']!);
}

describe('synthesized bundle', () => {
  it('emits one function per task, a state machine per routine, and a schedule per standalone task, routine and target', () => {
    const template = readFileSync(path.join(out, 'DbMaint.template.json'), 'utf8');
    expect(template.match(/"Type": "AWS::Lambda::Function"/g)).toHaveLength(TASKS.length);
    const nested = readdirSync(out).filter((f) => f.endsWith('.nested.template.json'));
    const schedules = nested.map((f) => readFileSync(path.join(out, f), 'utf8').match(/"Type": "AWS::Scheduler::Schedule"/g)?.length ?? 0);
    const example = loadConfigFile(path.join(repoRoot, 'config/example.json'));
    const standalone = (TASKS as readonly TaskDefinition[]).filter((task) => task.schedule);
    const expected = example.targets.reduce((n, t) => n + standalone.filter((task) => appliesTo(task, t, example)).length + ROUTINES.length, 0);
    expect(schedules.reduce((a, b) => a + b, 0)).toBe(expected);
    expect(template.match(/"Type": "AWS::StepFunctions::StateMachine"/g)).toHaveLength(ROUTINES.length);
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
