// The long runner in the stack (Fargate task, its role, the image staged for deploy, cfn-lint and cdk-nag) and on the synthesized weekly routine: a table too large for one invocation goes to it, with the right input, and is rebuilt.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRoutine } from '../lib/catalogue';
import { parseConfig } from '../lib/config/load';
import type { DbMaintConfig } from '../lib/config/schema';
import { UrlCredentialSource } from '../lib/db/credentials';
import { EmfMetricsPublisher } from '../lib/metrics/emf';
import { LONG_RUNNER_MIN_SECONDS, stepsSeconds, windowProgress } from '../lib/routines/window';
import { silentLog } from '../lib/runtime/log';
import { runLongTask } from '../functions/long-runner';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget, TEST_SECRET_ARN } from './support/db';
import { definitionFromTemplate, interpretRoutine } from './support/routine-interpreter';
import { synthStack, templateFiles } from './support/synth';

const SCHEMA = 'long_t';
const NETWORK = { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] };
const LONG = { enabled: true, engine: 'pt-online-schema-change' as const };
const TARGET = { name: 'test', secretArn: TEST_SECRET_ARN, schemas: [SCHEMA], rebuildTables: ['big'] };
const weekly = getRoutine('weekly-maintenance');
const REBUILD = weekly.steps.findIndex((s) => s.task === 'rebuild-indexes');

describe('the long runner in the stack', () => {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-long-'));
  const stack = synthStack({ network: NETWORK, longRunner: LONG, targets: [TARGET] }, { outdir, nag: true });
  const t = Template.fromStack(stack);

  it('is an ARM64 Fargate task in the targets’ subnets and security groups, its image staged from infra/long-runner/Dockerfile', () => {
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'dbmaint-long-runner',
      Cpu: '1024',
      Memory: '2048',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [Match.objectLike({ Name: 'runner', ReadonlyRootFilesystem: true })],
    });
    // Synth stays offline: the build context (bundle, configuration, Dockerfile) is staged, the image is built at deploy.
    const assetDirs = readdirSync(outdir).filter((d) => d.startsWith('asset.') && existsSync(path.join(outdir, d, 'Dockerfile')));
    expect(assetDirs).toHaveLength(1);
    const ctx = path.join(outdir, assetDirs[0]!);
    expect(readdirSync(ctx).sort()).toEqual(['Dockerfile', 'dbmaint.config.json', 'long-runner.cjs']);
    expect(readFileSync(path.join(ctx, 'Dockerfile'), 'utf8')).toMatch(/apt-get install -y --no-install-recommends percona-toolkit/);
    expect(JSON.parse(readFileSync(path.join(ctx, 'dbmaint.config.json'), 'utf8')).longRunner).toMatchObject(LONG);
  });

  it('gives its task role the targets’ secrets and nothing else', () => {
    const roles = t.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ecs-tasks.amazonaws.com' } })] } } });
    const taskRole = Object.entries(roles).find(([id]) => id.includes('TaskRole'))![0];
    const attachedTo = (p: unknown) => JSON.stringify((p as { Properties: { Roles?: unknown } }).Properties.Roles ?? []).includes(`"${taskRole}"`);
    const inline = Object.values(t.findResources('AWS::IAM::Policy')).filter(attachedTo);
    expect(inline).toEqual([]);
    const managed = Object.values(t.findResources('AWS::IAM::ManagedPolicy')).filter(attachedTo);
    expect(managed.length).toBe(1);
    const actions = JSON.stringify(managed.map((p) => (p as { Properties: { PolicyDocument: unknown } }).Properties.PolicyDocument));
    expect(actions).toContain('secretsmanager:GetSecretValue');
    expect(actions).toContain(TEST_SECRET_ARN);
  });

  it('is started by the rebuild steps only, with ecs:runTask.sync and the step’s event and budget in the environment', () => {
    const def = definitionFromTemplate(t, 'dbmaint-weekly-maintenance');
    const ecsStates = Object.entries(def.States).filter(([, s]) => s.Resource?.includes('ecs:runTask.sync'));
    expect(ecsStates.map(([n]) => n)).toEqual([`Step${REBUILD + 1}-rebuild-indexes-long-runner`]);
    const env = (ecsStates[0]![1].Parameters as { Overrides: { ContainerOverrides: { Environment: unknown[] }[] } }).Overrides.ContainerOverrides[0]!.Environment;
    expect(env).toEqual([
      { Name: 'DBMAINT_EVENT', 'Value.$': `States.JsonToString($.outcomes.s${REBUILD}.longRunner.event)` },
      { Name: 'DBMAINT_BUDGET_SECONDS', 'Value.$': `States.Format('{}', $.outcomes.s${REBUILD}.longRunner.seconds)` },
    ]);
    const daily = definitionFromTemplate(t, 'dbmaint-daily-maintenance');
    expect(Object.keys(daily.States).filter((n) => n.endsWith('-long-runner'))).toEqual(['Step4-optimize-tables-long-runner']);
  });

  it('passes cfn-lint and cdk-nag', () => {
    const out = spawnSync('cfn-lint', ['--format', 'json', '--', ...templateFiles(outdir)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (out.error) throw new Error(`cfn-lint did not run (${out.error.message}): install it with 'pip install cfn-lint' (.ci/run does)`);
    const errors = (JSON.parse(out.stdout || '[]') as { Level: string; Rule: { Id: string }; Message: string }[]).filter((m) => m.Level === 'Error');
    expect(errors.map((e) => `${e.Rule.Id}: ${e.Message}`)).toEqual([]);
    const nag = [...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')), ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))];
    expect(nag.map((e) => `${e.id}: ${String(e.entry.data).slice(0, 160)}`)).toEqual([]);
  });

  it('needs the network: enabled without one fails with the field path', () => {
    expect(() => parseConfig({ longRunner: LONG, targets: [TARGET] })).toThrow(/longRunner\.enabled: the long runner is a Fargate task in the targets' VPC: set network/);
  });
});

describe('when the window has too little time left for it', () => {
  it('is not started, and the result says why', () => {
    const cfg = parseConfig({ network: NETWORK, longRunner: LONG, targets: [TARGET] });
    const opens = new Date('2026-12-06T07:15:00Z');
    const left = { text: '1 table(s) deferred: long_t.big (~2000 s)', again: false, why: 'long_t.big is estimated at 2000 s, more than one invocation (870 s)', tooLarge: ['long_t.big'] };
    const late = new Date(opens.getTime() + 4 * 3_600_000 - (stepsSeconds(weekly, REBUILD + 1) + LONG_RUNNER_MIN_SECONDS - 60) * 1000);
    const p = windowProgress(cfg, cfg.targets[0]!, { id: weekly.id, startedAt: opens.toISOString() }, 'rebuild-indexes', late, 870, true, left);
    expect(p.longRunner).toBeNull();
    expect(p.reason).toMatch(/the long runner needs 600 s of the window and \d+ s are left after the later steps/);
    const early = windowProgress(cfg, cfg.targets[0]!, { id: weekly.id, startedAt: opens.toISOString() }, 'rebuild-indexes', new Date(opens.getTime() + 900_000), 870, true, left);
    expect(early.longRunner).toMatchObject({ event: { task: 'rebuild-indexes', target: 'test', tables: ['long_t.big'], engine: 'pt-online-schema-change' } });
  });
});

describe('the synthesized weekly routine with the long runner, in the ASL interpreter against MariaDB', () => {
  let admin: mysql.Connection;
  const template = Template.fromStack(synthStack({ network: NETWORK, longRunner: LONG, targets: [TARGET] }));
  const definition = definitionFromTemplate(template, 'dbmaint-weekly-maintenance');

  // 1 KB/s assumed: the 2-3 MB table is estimated far beyond one invocation of rebuild-indexes (870 s).
  const config = (): DbMaintConfig =>
    testConfig([SCHEMA], { network: NETWORK, longRunner: LONG, optimize: { defaultRebuildMbPerSecond: 0.001 }, targets: [testTarget([SCHEMA], { rebuildTables: ['big'] })] });

  async function tableId(): Promise<number> {
    const [rows] = await admin.query('SELECT TABLE_ID AS id FROM information_schema.INNODB_SYS_TABLES WHERE NAME = ?', [`${SCHEMA}/big`]);
    return Number((rows as { id: number }[])[0]!.id);
  }

  beforeAll(async () => {
    admin = await adminConnection();
    await freshSchema(admin, SCHEMA);
    await admin.query(`DROP DATABASE IF EXISTS \`${SCHEMA}_log\``);
    await admin.query(`CREATE TABLE \`${SCHEMA}\`.big (id INT AUTO_INCREMENT PRIMARY KEY, val VARCHAR(64) NOT NULL, pad CHAR(200) NOT NULL DEFAULT '') ENGINE=InnoDB`);
    await admin.query(`USE \`${SCHEMA}\``);
    await admin.query(`INSERT INTO big (val, pad) SELECT CONCAT('v', seq), REPEAT('x', 200) FROM seq_1_to_8000`);
    await admin.query(`ANALYZE TABLE big`);
  });
  afterAll(async () => {
    await admin?.end();
  });

  it('takes the long-runner branch when the estimate exceeds one invocation: its input is the step’s event for the table, and the table is rebuilt', async () => {
    const cfg = config();
    const before = await tableId();
    const [sum0] = await admin.query(`SELECT COUNT(*) AS n, SUM(CRC32(CONCAT(id, val, pad))) AS c FROM \`${SCHEMA}\`.big`);
    const inputs: unknown[] = [];
    const opened = new Date();
    const exec = await interpretRoutine(
      definition,
      { target: 'test', windowStartedAt: opened.toISOString() },
      { config: cfg, credentials: new UrlCredentialSource(serverUrl()), metrics: new EmfMetricsPublisher(cfg.metricNamespace, () => undefined), log: silentLog },
      {
        stateMachineName: 'dbmaint-weekly-maintenance',
        executionName: `long-${Date.now()}`,
        handlers: {
          // What Fargate would run: the container's entry point with the environment the state passes it.
          [`Step${REBUILD + 1}-rebuild-indexes-long-runner`]: async (input) => {
            inputs.push(input);
            const env = Object.fromEntries(
              (input as { Overrides: { ContainerOverrides: { Environment: { Name: string; Value: string }[] }[] } }).Overrides.ContainerOverrides[0]!.Environment.map((e) => [e.Name, e.Value]),
            );
            const result = await runLongTask({ eventJson: env['DBMAINT_EVENT'], budgetSeconds: env['DBMAINT_BUDGET_SECONDS'] });
            return { Containers: [{ ExitCode: result.status === 'failed' ? 1 : 0 }], StoppedReason: 'Essential container in task exited', result };
          },
        },
      },
    );
    expect(exec.violations).toEqual([]);
    expect(exec.status).toBe('succeeded');
    const outcome = (exec.output as { outcomes: Record<string, { status: string; invocations: number; longRunner: unknown }> }).outcomes[`s${REBUILD}`]!;
    expect(outcome).toMatchObject({ status: 'stopped-at-deadline', invocations: 1 });
    expect(inputs).toHaveLength(1);
    const env = Object.fromEntries((inputs[0] as { Overrides: { ContainerOverrides: { Environment: { Name: string; Value: string }[] }[] } }).Overrides.ContainerOverrides[0]!.Environment.map((e) => [e.Name, e.Value]));
    expect(JSON.parse(env['DBMAINT_EVENT']!)).toEqual({
      source: 'dbmaint.routine',
      task: 'rebuild-indexes',
      target: 'test',
      routine: { id: 'weekly-maintenance', startedAt: opened.toISOString() },
      tables: [`${SCHEMA}.big`],
      engine: 'pt-online-schema-change',
    });
    // The window (4 h) less what this step took and one invocation of every later step.
    const budget = Number(env['DBMAINT_BUDGET_SECONDS']);
    expect(budget).toBeLessThanOrEqual(4 * 3600 - stepsSeconds(weekly, REBUILD + 1));
    expect(budget).toBeGreaterThan(4 * 3600 - stepsSeconds(weekly, REBUILD + 1) - 600);
    expect((exec.output as { longRuns: Record<string, unknown> }).longRuns[`s${REBUILD}`]).toEqual({ exitCode: 0, stoppedReason: 'Essential container in task exited' });
    // pt-online-schema-change rebuilt it: a new table, the same rows.
    expect(await tableId()).not.toBe(before);
    const [sum1] = await admin.query(`SELECT COUNT(*) AS n, SUM(CRC32(CONCAT(id, val, pad))) AS c FROM \`${SCHEMA}\`.big`);
    expect(sum1).toEqual(sum0);
    // The later steps still ran.
    const o = (exec.output as { outcomes: Record<string, { status: string }> }).outcomes;
    expect(weekly.steps.slice(REBUILD + 1).map((_, j) => o[`s${REBUILD + 1 + j}`]!.status)).not.toContain('failed');
  }, 300_000);
});
