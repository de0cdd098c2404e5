// "Purge falling behind": a rule whose remaining rows did not shrink since the previous run is counted (the alarm's metric).
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UrlCredentialSource } from '../lib/db/credentials';
import type { MetricPoint } from '../lib/metrics/names';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import type { RetentionResult } from '../lib/tasks/retention-task';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, freshSchema, serverUrl, testConfig } from './support/db';
import { CountingDeadline } from './support/retention';

const SCHEMA = 'behind_t';
let admin: mysql.Connection;

function env(deadline: Deadline) {
  const base = testConfig([SCHEMA], { purge: { initialChunkRows: 500, minChunkRows: 100, maxChunkRows: 500 } }, `${SCHEMA}_log`);
  return {
    config: { ...base, targets: [{ ...base.targets[0]!, cleanupRules: [{ table: 'events', dateColumn: 'created_at', retentionDays: 30, action: 'delete' as const, where: [], allowFullScan: false, walk: 'auto' as const }] }] },
    credentials: new UrlCredentialSource(serverUrl()),
    metrics: { publish: () => undefined },
    log: silentLog,
    deadline,
  };
}

const behind = (metrics: readonly MetricPoint[]) => metrics.find((m) => m.name === 'TablesFallingBehind')?.value;

async function addOldRows(n: number): Promise<void> {
  await admin.query(`INSERT INTO \`${SCHEMA}\`.events (created_at) SELECT UTC_TIMESTAMP() - INTERVAL 40 DAY - INTERVAL seq SECOND FROM seq_1_to_${n}`);
}

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, SCHEMA);
  await admin.query(`DROP DATABASE IF EXISTS \`${SCHEMA}_log\``);
  await admin.query(`USE \`${SCHEMA}\``);
  await admin.query(`CREATE TABLE events (id INT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
  await addOldRows(3000);
});
afterAll(async () => {
  await admin.end();
});

describe('TablesFallingBehind', () => {
  it('counts a rule whose remaining rows did not shrink since the previous run, and stops counting once it catches up', async () => {
    const first = await runTask('cleanup-data', {}, env(new CountingDeadline(3)));
    const r1 = (first.result as RetentionResult).rules[0]!.rowsRemaining!;
    expect(first.status).toBe('stopped-at-deadline');
    expect(r1).toBeGreaterThan(0);
    expect(behind(first.metrics)).toBe(0); // nothing to compare with yet

    // The application adds old rows faster than the run removes them.
    await addOldRows(3000);
    const second = await runTask('cleanup-data', {}, env(new CountingDeadline(3)));
    const r2 = (second.result as RetentionResult).rules[0]!.rowsRemaining!;
    expect(r2).toBeGreaterThanOrEqual(r1);
    expect(behind(second.metrics)).toBe(1);
    expect((second.result as RetentionResult).fallingBehind).toEqual([`${SCHEMA}.events`]);

    const third = await runTask('cleanup-data', {}, env(Deadline.unlimited()));
    expect((third.result as RetentionResult).rules[0]!.rowsRemaining).toBe(0);
    expect(behind(third.metrics)).toBe(0);
  });

  it('a dry run neither counts nor publishes it', async () => {
    const dry = await runTask('cleanup-data', { dryRun: true }, env(Deadline.unlimited()));
    expect(behind(dry.metrics)).toBeUndefined();
  });
});
