// The routines in-process against MariaDB and an SES emulator: step order, failure isolation, the daily report and alerts, metrics ↔ alarms.
import { Template } from 'aws-cdk-lib/assertions';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalRoutine } from '../bin/local-runner';
import { ROUTINES } from '../lib/catalogue';
import type { DbMaintConfig } from '../lib/config/schema';
import { localSesClient, startSesLocal, type SesLocal } from '../dev/ses-emulator';
import { DIMENSION, METRIC } from '../lib/metrics/names';
import { SesMailSender } from '../lib/reporting/mail/sender';
import { silentLog } from '../lib/runtime/log';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';
import { synthStack } from './support/synth';

const SCHEMA = 'routine_t';
const LOG = 'routine_t_log';
let admin: mysql.Connection;
let ses: SesLocal;

interface EmfDoc {
  _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [key: string]: unknown;
}

function config(): DbMaintConfig {
  return testConfig(
    [SCHEMA],
    {
      targets: [
        testTarget([SCHEMA], {
          cleanupRules: [
            { table: 'sessions', dateColumn: 'expire_date', retentionDays: 30, action: 'delete' },
            // No index on the date column: refused, so cleanup-data fails — and the routine must go on.
            { table: 'audit', dateColumn: 'created_at', retentionDays: 30, action: 'delete' },
          ],
        }),
      ],
      reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] },
    },
    LOG,
  );
}

function routine(id: string) {
  return runLocalRoutine({
    routine: id,
    config: config(),
    databaseUrl: serverUrl(),
    log: silentLog,
    mailer: new SesMailSender(localSesClient(ses.endpoint, { maxAttempts: 1 })),
  });
}

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, SCHEMA);
  await admin.query(`DROP DATABASE IF EXISTS \`${LOG}\``);
  await admin.query(`USE \`${SCHEMA}\``);
  await admin.query('CREATE TABLE sessions (k CHAR(40) PRIMARY KEY, data TEXT NOT NULL, expire_date DATETIME NOT NULL, KEY ix_expire (expire_date)) ENGINE=InnoDB');
  await admin.query("INSERT INTO sessions SELECT SHA1(seq), 'x', UTC_TIMESTAMP() - INTERVAL (seq % 60) DAY FROM seq_1_to_3000");
  await admin.query('CREATE TABLE audit (id INT PRIMARY KEY, created_at DATETIME NOT NULL) ENGINE=InnoDB');
  await admin.query('INSERT INTO audit SELECT seq, UTC_TIMESTAMP() - INTERVAL seq DAY FROM seq_1_to_100');
  ses = await startSesLocal();
});
afterAll(async () => {
  await ses.stop();
  await admin.end();
});

describe('daily-maintenance in-process', () => {
  it('runs the catalogue steps in order; a failing step is reported and the others still run', async () => {
    const out = await routine('daily-maintenance');
    const daily = ROUTINES.find((r) => r.id === 'daily-maintenance')!;
    expect(out.routine.steps.map((s) => s.task)).toEqual(daily.steps.map((s) => s.task));
    const status = Object.fromEntries(out.routine.steps.map((s) => [s.task, s.status]));
    expect(status).toEqual({
      preflight: 'succeeded',
      'analyze-tables': 'succeeded',
      'cleanup-data': 'failed',
      'optimize-tables': 'succeeded',
      'collect-statistics': 'succeeded',
      recommendations: 'succeeded',
      'daily-report': 'succeeded',
    });
    expect(out.routine.status).toBe('failed');
    // The good rule still purged: sessions older than 30 days are gone.
    const [[old]] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${SCHEMA}\`.sessions WHERE expire_date < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
    expect(Number(old!['n'])).toBe(0);

    // The daily report reached SES: what ran, the failure with its error, the recommendation it triggers.
    const mails = await ses.emails();
    const report = mails.find((m) => m.subject.startsWith('[dbmaint] test: daily maintenance'))!;
    expect(report, mails.map((m) => m.subject).join(' | ')).toBeDefined();
    expect(report.destination.to).toEqual(['dba@example.com']);
    expect(report.subject).toContain('1 failed');
    for (const text of [report.body.text!, report.body.html!]) {
      expect(text).toContain('cleanup-data');
      expect(text).toContain('collect-statistics');
      expect(text).toContain('RETENTION_DATE_UNINDEXED');
      expect(text).toMatch(/created_at/);
    }
    // Alerts: the high-priority recommendation (from the recommendations step) and the failed task (from the report step).
    const alerts = mails.filter((m) => m.subject.startsWith('[dbmaint] ALERT test'));
    expect(alerts.map((a) => a.body.text).join('\n')).toContain('RETENTION_DATE_UNINDEXED');
    expect(alerts.map((a) => a.body.text).join('\n')).toContain('cleanup-data failed on test');

    // Every alarm on a metric this run emitted watches a namespace + dimension set that was really emitted, with the same values.
    const stack = synthStack(config());
    type AlarmProps = { AlarmName: string; Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] };
    const alarms = [stack, ...stack.targetStacks]
      .flatMap((s) => Object.values(Template.fromStack(s).findResources('AWS::CloudWatch::Alarm')) as { Properties: AlarmProps }[])
      .map((a) => a.Properties)
      .filter((a) => a.Namespace === 'DbMaint');
    const docs = out.emf.map((l) => JSON.parse(l) as EmfDoc);
    const ran = new Set(out.routine.steps.filter((st) => st.status !== 'skipped').map((st) => st.task));
    const emitted = (a: AlarmProps) =>
      docs.some(
        (d) =>
          a.Dimensions.every((dim) => d[dim.Name] === dim.Value) &&
          d._aws.CloudWatchMetrics.some((c) => c.Metrics.some((m) => m.Name === a.MetricName) && c.Dimensions.some((set) => [...set].sort().join() === a.Dimensions.map((x) => x.Name).sort().join())),
      );
    // Metrics a task emits only when it has something to say (a trend needs history; no mail failed here).
    const conditional = new Set<string>([METRIC.GrowthBytesPerDay.name, METRIC.DaysToStorageLimit.name]);
    let checked = 0;
    for (const a of alarms) {
      const task = a.Dimensions.find((d) => d.Name === DIMENSION.Task)?.Value;
      if (!task || !ran.has(task) || conditional.has(a.MetricName)) continue;
      expect(emitted(a), a.AlarmName).toBe(true);
      checked++;
    }
    // Silence alarms for each step that ran, TaskFailed per task, fragmentation, purge-behind, report send failures.
    expect(checked).toBeGreaterThanOrEqual(7 + 7 + 4);
    expect(alarms.some((a) => a.AlarmName === 'dbmaint-test-fragmentation')).toBe(true);
    expect(alarms.some((a) => a.AlarmName === 'dbmaint-test-purge-falling-behind')).toBe(true);
  });

  it('does not mail the same alert again within the alert period, but sends the report', async () => {
    await ses.clear();
    const out = await routine('daily-maintenance');
    const mails = await ses.emails();
    expect(mails.filter((m) => m.subject.startsWith('[dbmaint] test: daily maintenance'))).toHaveLength(1);
    expect(mails.filter((m) => m.subject.startsWith('[dbmaint] ALERT'))).toEqual([]);
    const rec = out.routine.steps.find((s) => s.task === 'recommendations')!.run!.result as { alert: { conditions: number; due: number; sent: boolean } };
    expect(rec.alert.conditions).toBeGreaterThan(0);
    expect(rec.alert.due).toBe(0);
  });

  it('a mail that cannot be sent is counted, and the maintenance still succeeds', async () => {
    const dead = await startSesLocal();
    await dead.stop();
    const out = await runLocalRoutine({
      routine: 'weekly-maintenance',
      config: config(),
      databaseUrl: serverUrl(),
      log: silentLog,
      mailer: new SesMailSender(localSesClient(dead.endpoint, { maxAttempts: 1 })),
    });
    const status = Object.fromEntries(out.routine.steps.map((s) => [s.task, s.status]));
    // Steps that do not apply to this target are skipped, not failed.
    expect(status).toEqual({ preflight: 'succeeded', 'rebuild-indexes': 'skipped', 'archive-orders': 'skipped', 'collect-statistics': 'succeeded', recommendations: 'succeeded', 'weekly-report': 'succeeded' });
    const report = out.routine.steps.find((s) => s.task === 'weekly-report')!.run!;
    expect((report.result as { sent: boolean; error?: string }).sent).toBe(false);
    expect(report.metrics).toEqual(expect.arrayContaining([{ name: METRIC.ReportSendFailed.name, unit: 'Count', value: 1 }]));
  });
});
