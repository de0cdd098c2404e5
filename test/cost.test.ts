// `dbmaint cost`: schedule arithmetic, the estimate of a synthesized stack against the template's own resources, the CLI's JSON, and the metric counts it assumes against what real task runs publish.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../bin/dbmaint';
import { runLocal } from '../bin/local-runner';
import { TASKS } from '../lib/catalogue';
import { loadConfigFile } from '../lib/config/load';
import { silentLog } from '../lib/runtime/log';
import { estimateCost, runsPerMonth, type CostEstimate, type Template } from '../infra/cost/estimate';
import { synthTemplates } from '../infra/cost/synth-templates';
import { ASSUMPTIONS } from '../infra/cost/usage';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';
import { repoRoot } from './support/synth';

const DAYS = 365.25 / 12;

describe('runs per month of a Scheduler expression', () => {
  it('daily, every six hours, weekly on a weekday, on listed days, by rate', () => {
    expect(runsPerMonth('cron(0 4 * * ? *)')).toBeCloseTo(DAYS, 6);
    expect(runsPerMonth('cron(15 0/6 * * ? *)')).toBeCloseTo(4 * DAYS, 6);
    expect(runsPerMonth('cron(15 7 ? * SUN *)')).toBeCloseTo(DAYS / 7, 6);
    expect(runsPerMonth('cron(0 3 ? * MON-FRI *)')).toBeCloseTo((5 * DAYS) / 7, 6);
    expect(runsPerMonth('cron(0 2 1,15 * ? *)')).toBe(2);
    expect(runsPerMonth('cron(0,30 * * * ? *)')).toBeCloseTo(48 * DAYS, 6);
    expect(runsPerMonth('rate(1 hour)')).toBeCloseTo(24 * DAYS, 6);
    expect(() => runsPerMonth('every day')).toThrow(/unrecognised schedule expression/);
  });
});

describe('the estimate of the example stack', () => {
  let estimate: CostEstimate;
  let templates: Template[];
  const config = loadConfigFile(`${repoRoot}/config/example.json`);
  beforeAll(() => {
    templates = synthTemplates(config, repoRoot);
    estimate = estimateCost(config, templates);
  });
  const count = (type: string) => templates.reduce((n, t) => n + Object.values(t.Resources ?? {}).filter((r) => r.Type === type).length, 0);

  it('prices every alarm, dashboard and schedule the templates hold, each once', () => {
    expect(estimate.items.filter((i) => i.service === 'CloudWatch alarms')).toHaveLength(count('AWS::CloudWatch::Alarm'));
    expect(estimate.items.filter((i) => i.service === 'CloudWatch dashboards')).toHaveLength(count('AWS::CloudWatch::Dashboard'));
    expect(estimate.items.filter((i) => i.service === 'EventBridge Scheduler')).toHaveLength(count('AWS::Scheduler::Schedule'));
    expect(count('AWS::CloudWatch::Alarm')).toBeGreaterThan(10);
  });

  it('gives each target its own alarms, invocations and routine executions; the parts add up to the total', () => {
    for (const t of config.targets) {
      const own = estimate.items.filter((i) => i.target === t.name);
      expect(own.filter((i) => i.service === 'CloudWatch alarms').every((i) => i.what.startsWith(`dbmaint-${t.name}-`))).toBe(true);
      // The daily routine runs every step once a day for every target: cleanup-data among them (~30 a month).
      const cleanup = own.find((i) => i.service === 'Lambda' && i.what.startsWith('cleanup-data: requests'));
      expect(cleanup?.quantity).toBeCloseTo(DAYS, 1);
      expect(own.some((i) => i.service === 'Step Functions')).toBe(true);
    }
    const sum = estimate.items.reduce((n, i) => n + i.monthlyUsd, 0);
    expect(estimate.monthlyUsd).toBeCloseTo(sum, 1);
    const perTarget = Object.values(estimate.perTargetUsd).reduce((n, v) => n + v, 0);
    expect(perTarget).toBeCloseTo(estimate.monthlyUsd, 1);
  });

  it('`dbmaint cost --config FILE --json` prints { monthlyUsd, perTargetUsd, items }; the text form names the prices\' date', async () => {
    let out = '';
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true }, env: {} };
    expect(await main(['cost', '--config', `${repoRoot}/config/example.json`, '--json'], io)).toBe(0);
    const json = JSON.parse(out) as CostEstimate;
    expect(json).toMatchObject({ monthlyUsd: estimate.monthlyUsd, perTargetUsd: estimate.perTargetUsd });
    expect(json.items.length).toBe(estimate.items.length);
    out = '';
    expect(await main(['cost', '--config', `${repoRoot}/config/example.json`], io)).toBe(0);
    expect(out).toMatch(/^Monthly estimate: \$\d+\.\d\d \(us-east-1 list prices of \d{4}-\d\d-\d\d; free tiers not counted\)/);
    expect(await main(['cost', '--target', 'prod'], { ...io, stderr: { write: (s: string) => (out += s) } })).toBe(2);
    expect(out).toContain('--target: not an option of cost');
  });
});

describe('the metric counts the estimate assumes', () => {
  const S = 'cost_t';
  let admin: mysql.Connection;
  beforeAll(async () => {
    admin = await adminConnection();
    await freshSchema(admin, S);
    await admin.query(`CREATE TABLE ${S}.events (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
    await admin.query(`CREATE TABLE ${S}.orders (id INT PRIMARY KEY, status VARCHAR(20) NOT NULL, completed_at DATETIME NULL, KEY ix_completed (completed_at)) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO ${S}.events SELECT seq, NOW() - INTERVAL seq DAY FROM ${S}.seq_1_to_100`);
  });
  afterAll(async () => {
    await admin.end();
  });

  it('are at least what each task publishes per target in a real run', async () => {
    const config = testConfig([S], { reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] }, targets: [testTarget([S], {
            cleanupRules: [{ table: 'events', dateColumn: 'created_at', retentionDays: 30, action: 'delete' }],
            archiveOrders: { table: 'orders', dateColumn: 'completed_at', statusColumn: 'status', completedValues: ['completed'], daysOld: 365 },
            rebuildTables: ['orders'],
          })] });
    const seen: Record<string, number> = {};
    const perTableSeen: Record<string, number> = {};
    for (const task of TASKS) {
      const out = await runLocal({ task: task.id, config, databaseUrl: serverUrl(), log: silentLog });
      const docs = out.emf.map((l) => JSON.parse(l) as { _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] } });
      // The per-target set: dimensions without Table (the per-table documents are counted by perTableMetrics).
      const names = new Set(docs.filter((d) => !d._aws.CloudWatchMetrics[0]!.Dimensions.flat().includes('Table')).flatMap((d) => d._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name)));
      const perTable = new Set(docs.filter((d) => d._aws.CloudWatchMetrics[0]!.Dimensions.flat().includes('Table')).flatMap((d) => d._aws.CloudWatchMetrics[0]!.Metrics.map((m) => `${String((d as unknown as Record<string, unknown>)['Table'])}|${m.Name}`)));
      expect(names.size, `${task.id}: ${[...names].join(', ')}`).toBeGreaterThan(0);
      seen[task.id] = names.size;
      if (perTable.size) perTableSeen[task.id] = perTable.size;
    }
    const assumed = Object.fromEntries(TASKS.map((t) => [t.id, Math.max(seen[t.id]!, ASSUMPTIONS.metricsPerRun[t.id] ?? ASSUMPTIONS.defaultMetricsPerRun)]));
    expect(assumed, `published per run: ${JSON.stringify(seen)}`).toEqual(Object.fromEntries(TASKS.map((t) => [t.id, ASSUMPTIONS.metricsPerRun[t.id] ?? ASSUMPTIONS.defaultMetricsPerRun])));
    // Per-table series (table × metric) within what the estimate counts from the configuration.
    expect(Object.keys(perTableSeen).sort()).toEqual(['archive-orders', 'cleanup-data', 'collect-statistics', 'rebuild-indexes']);
    for (const [task, n] of Object.entries(perTableSeen)) expect(n, `${task} per table`).toBeLessThanOrEqual(ASSUMPTIONS.perTableSeries(task, config.targets[0]!, config));
  }, 120_000);
});
