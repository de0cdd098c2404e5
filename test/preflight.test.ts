// preflight against MariaDB: grants, settings and indexes per capability; the routine skips what cannot work and says how to fix it.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalRoutine } from '../bin/local-runner';
import type { DbMaintConfig } from '../lib/config/schema';
import { UrlCredentialSource } from '../lib/db/credentials';
import type { PreflightResult } from '../lib/maintenance/preflight';
import { LocalMailbox } from '../lib/reporting/mail/local-mailbox';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';

const SCHEMA = 'preflight_t';
const LOG = 'preflight_t_log';
let admin: mysql.Connection;

function config(): DbMaintConfig {
  return testConfig(
    [SCHEMA],
    {
      targets: [
        testTarget([SCHEMA], {
          cleanupRules: [
            { table: 'sessions', dateColumn: 'expire_date', retentionDays: 30, action: 'delete' },
            { table: 'logs', dateColumn: 'created_at', retentionDays: 30, action: 'archive' },
          ],
        }),
      ],
      reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] },
    },
    LOG,
  );
}

const urlFor = (user: string, password: string) => serverUrl().replace(/\/\/[^@]+@/, `//${user}:${password}@`);

function env(url: string) {
  return { config: config(), credentials: new UrlCredentialSource(url), metrics: { publish: () => undefined }, log: silentLog, deadline: Deadline.unlimited() };
}

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, SCHEMA);
  await admin.query(`DROP DATABASE IF EXISTS \`${LOG}\``);
  await admin.query(`CREATE TABLE \`${SCHEMA}\`.sessions (k CHAR(40) PRIMARY KEY, expire_date DATETIME NOT NULL, KEY ix_expire (expire_date)) ENGINE=InnoDB`);
  // No index on created_at: the archive rule is refused, preflight says so with the index to add.
  await admin.query(`CREATE TABLE \`${SCHEMA}\`.logs (id INT PRIMARY KEY, created_at DATETIME NOT NULL) ENGINE=InnoDB`);
  await admin.query(`INSERT INTO \`${SCHEMA}\`.sessions VALUES ('a', UTC_TIMESTAMP() - INTERVAL 40 DAY), ('b', UTC_TIMESTAMP())`);
  await admin.query(`DROP USER IF EXISTS 'pf_ro'@'%'`);
  await admin.query(`CREATE USER 'pf_ro'@'%' IDENTIFIED BY 'pf-pass'`);
  // docs/grants.md's read-only grants (analyze and statistics) and the run log: no DELETE, no ALTER.
  await admin.query(`GRANT SELECT, INSERT ON \`${SCHEMA}\`.* TO 'pf_ro'@'%'`);
  await admin.query(`GRANT SELECT ON mysql.innodb_table_stats TO 'pf_ro'@'%'`);
  await admin.query(`GRANT SELECT ON mysql.innodb_index_stats TO 'pf_ro'@'%'`);
  await admin.query(`GRANT CREATE, SELECT, INSERT, UPDATE, DELETE ON \`${LOG}\`.* TO 'pf_ro'@'%'`);
});
afterAll(async () => {
  await admin.end();
});

describe('preflight', () => {
  it('with every grant: only the missing index is reported, and only the archive rule is affected', async () => {
    const out = await runTask('preflight', {}, env(serverUrl()));
    const r = out.result as PreflightResult;
    const status = Object.fromEntries(r.capabilities.map((c) => [c.capability, c.ok]));
    expect(status).toEqual({ 'run-log': true, analyze: true, statistics: true, purge: true, archive: false, rebuild: true });
    const archive = r.capabilities.find((c) => c.capability === 'archive')!;
    expect(archive.missing).toEqual([`${SCHEMA}.logs: no index leads with created_at (the rule is refused; add one, or allowFullScan)`]);
    expect(archive.fix).toEqual([`CREATE INDEX \`ix_created_at\` ON \`${SCHEMA}\`.\`logs\` (\`created_at\`);`]);
    // cleanup-data still has a rule that works: not blocked.
    expect(r.blockedTasks).toEqual([]);
    expect(r.settings['innodb_file_per_table']).toBe('ON');
    expect(r.capabilities.find((c) => c.capability === 'statistics')!.notes).toContain('performance_schema is OFF: unused-index and slow-statement recommendations are skipped');
  });

  it('with the read-only grants: names what is missing and the GRANT that fixes it, and blocks the tasks that cannot work', async () => {
    const out = await runTask('preflight', {}, env(urlFor('pf_ro', 'pf-pass')));
    const r = out.result as PreflightResult;
    expect(r.user).toBe('pf_ro@%');
    const byCap = Object.fromEntries(r.capabilities.map((c) => [c.capability, c]));
    expect(byCap['analyze']!.ok).toBe(true);
    expect(byCap['statistics']!.ok).toBe(true);
    expect(byCap['purge']!.missing).toEqual([`DELETE on ${SCHEMA}.sessions`]);
    expect(byCap['purge']!.fix).toEqual([`GRANT DELETE ON \`${SCHEMA}\`.\`sessions\` TO 'pf_ro'@'%';`]);
    expect(byCap['rebuild']!.fix).toEqual([`GRANT ALTER ON \`${SCHEMA}\`.* TO 'pf_ro'@'%';`]);
    expect([...r.blockedTasks].sort()).toEqual(['cleanup-data', 'optimize-tables', 'rebuild-indexes']);
    expect(out.metrics).toEqual(expect.arrayContaining([{ name: 'PreflightProblems', unit: 'Count', value: 3 }, { name: 'TasksBlocked', unit: 'Count', value: 3 }]));
  });

  it('the daily routine runs it first, skips what cannot work, and recommends the fix', async () => {
    const mailbox = new LocalMailbox();
    const out = await runLocalRoutine({ routine: 'daily-maintenance', config: config(), databaseUrl: urlFor('pf_ro', 'pf-pass'), log: silentLog, mailer: mailbox });
    const steps = out.routine.steps.map((s) => [s.task, s.status]);
    expect(steps).toEqual([
      ['preflight', 'succeeded'],
      ['analyze-tables', 'succeeded'],
      ['cleanup-data', 'skipped'],
      ['optimize-tables', 'skipped'],
      ['collect-statistics', 'succeeded'],
      ['recommendations', 'succeeded'],
      ['daily-report', 'succeeded'],
    ]);
    const skipped = out.routine.steps.find((s) => s.task === 'cleanup-data')!.run!;
    expect((skipped.result as { headline: string }).headline).toMatch(/^preflight: missing: purge, archive, rebuild/);
    // Nothing was deleted.
    const [[n]] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${SCHEMA}\`.sessions`);
    expect(Number(n!['n'])).toBe(2);
    const rec = out.routine.steps.find((s) => s.task === 'recommendations')!.run!.result as { items: { code: string; priority: string; fix?: string }[] };
    expect(rec.items[0]).toMatchObject({ code: 'PREFLIGHT_PURGE', priority: 'high' });
    expect(rec.items.find((i) => i.code === 'PREFLIGHT_PURGE')!.fix).toContain('GRANT DELETE');
    const report = mailbox.mails.find((m) => m.subject.includes('daily maintenance'))!;
    expect(report.text).toContain('PREFLIGHT_PURGE');
    expect(report.text).toContain('GRANT DELETE');
  });
});
