// The Lambda handler in-process: real event and context, real MariaDB, EMF output checked against the alarms.
import { Template } from 'aws-cdk-lib/assertions';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../functions/analyze-tables';
import { DEADLINE_SAFETY_MS, useDependencies } from '../functions/lambda-handler';
import { UrlCredentialSource } from '../lib/db/credentials';
import { lambdaContext } from '../dev/lambda-context';
import type { AnalyzeResult } from '../lib/maintenance/analyze';
import { EmfMetricsPublisher } from '../lib/metrics/emf';
import { METRIC } from '../lib/metrics/names';
import { TASKS } from '../lib/catalogue';
import { LocalMailbox } from '../lib/reporting/mail/local-mailbox';
import { silentLog } from '../lib/runtime/log';
import { adminConnection, freshSchema, serverUrl, testConfig } from './support/db';
import { synthStack, target } from './support/synth';

const SCHEMA = 'handler_t';
let admin: mysql.Connection;
let emf: string[];
let restore: () => void;

interface EmfDoc {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [key: string]: unknown;
}

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, SCHEMA);
  await admin.query(`CREATE TABLE ${SCHEMA}.events (id INT PRIMARY KEY) ENGINE=InnoDB`);
  await admin.query(`CREATE TABLE ${SCHEMA}.sessions (k CHAR(40) PRIMARY KEY, expire_date DATETIME NOT NULL, KEY ix_expire (expire_date)) ENGINE=InnoDB`);
  await admin.query(
    `CREATE TABLE ${SCHEMA}.orders (id INT PRIMARY KEY, status VARCHAR(20) NOT NULL, completed_at DATETIME NULL, KEY ix_completed (completed_at)) ENGINE=InnoDB`,
  );
  await admin.query(`DELETE FROM mysql.innodb_table_stats WHERE database_name = ? AND table_name = 'events'`, [SCHEMA]);
  emf = [];
  const base = testConfig([SCHEMA], { metricNamespace: 'Test/DbMaint', reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] } });
  // Every catalogue task has what it needs on this target, so each handler can run.
  const config = {
    ...base,
    targets: [
      {
        ...base.targets[0]!,
        cleanupRules: [{ table: 'sessions', dateColumn: 'expire_date', retentionDays: 30, action: 'delete' as const, where: [], allowFullScan: false, walk: 'auto' as const }],
        archiveOrders: { table: 'orders', dateColumn: 'completed_at', statusColumn: 'status', completedValues: ['completed'], daysOld: 365, walk: 'auto' as const },
        rebuildTables: ['orders'],
      },
    ],
  };
  restore = useDependencies({
    config,
    credentials: new UrlCredentialSource(serverUrl()),
    metrics: new EmfMetricsPublisher(config.metricNamespace, (l) => emf.push(l)),
    log: silentLog,
    mailer: new LocalMailbox(),
  });
});
afterAll(async () => {
  restore();
  await admin.end();
});

describe('every catalogue task through its own handler file', () => {
  it.each(TASKS.map((t) => [t.id, t.handlerFile] as const))('%s: a dry-run console payload succeeds and emits EMF', async (id, file) => {
    const mod = (await import(`../${file}`)) as { handler: typeof handler };
    emf.length = 0;
    const result = await mod.handler({ target: 'test', dryRun: true }, lambdaContext(`dbmaint-${id}`, 900_000));
    expect(result.task).toBe(id);
    expect(result.status).toBe('succeeded');
    expect(result.dryRun).toBe(true);
    const names = emf.flatMap((l) => (JSON.parse(l) as EmfDoc)._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name));
    expect(names).toContain(METRIC.TaskSucceeded.name);
  });
});

describe('analyze-tables handler', () => {
  it('runs a console payload and emits EMF whose dimensions the failure alarm watches', async () => {
    emf.length = 0;
    const result = await handler({ target: 'test', dryRun: true, tables: ['events'] }, lambdaContext('dbmaint-analyze-tables', 900_000));
    expect(result.status).toBe('succeeded');
    expect((result.result as AnalyzeResult).tables).toEqual([expect.objectContaining({ table: 'events', action: 'would-analyze', reason: 'never-collected' })]);

    expect(emf).toHaveLength(1);
    const doc = JSON.parse(emf[0]!) as EmfDoc;
    const directive = doc._aws.CloudWatchMetrics[0]!;
    expect(directive.Metrics.map((m) => m.Name)).toContain(METRIC.TaskFailed.name);

    // The alarm's namespace and dimension set must be exactly one the function emits, with the same values.
    const stack = synthStack({ targets: [target('test')], metricNamespace: 'Test/DbMaint' });
    const alarms = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')) as { Properties: Record<string, unknown> }[];
    const failureAlarms = alarms.filter(
      (a) => a.Properties['MetricName'] === METRIC.TaskFailed.name && JSON.stringify(a.Properties['Dimensions']).includes('"analyze-tables"'),
    );
    expect(failureAlarms).toHaveLength(1);
    for (const alarm of failureAlarms) {
      expect(alarm.Properties['Namespace']).toBe(directive.Namespace);
      const dims = alarm.Properties['Dimensions'] as { Name: string; Value: string }[];
      const names = dims.map((d) => d.Name).sort();
      expect(directive.Dimensions.map((set) => [...set].sort().join(','))).toContain(names.join(','));
      for (const d of dims) expect(doc[d.Name]).toBe(d.Value);
    }
  });

  it('takes its deadline from the Lambda context', async () => {
    const result = await handler({ tables: ['events'] }, lambdaContext('dbmaint-analyze-tables', DEADLINE_SAFETY_MS + 2_000));
    expect(result.status).toBe('stopped-at-deadline');
    expect((result.result as AnalyzeResult).remaining).toEqual([`${SCHEMA}.events`]);
  });

  it('accepts the scheduler event shape', async () => {
    const result = await handler({ source: 'dbmaint.scheduler', task: 'analyze-tables', target: 'test' }, lambdaContext('dbmaint-analyze-tables', 900_000));
    expect(result.status).toBe('succeeded');
    expect((result.result as AnalyzeResult).counts.analyzed).toBe(1);
  });

  it('rejects an invalid payload with the field named', async () => {
    await expect(handler({ tables: 'events' }, lambdaContext('dbmaint-analyze-tables', 900_000))).rejects.toThrow(/event\.tables: /);
  });
});
