// The history's window index against a real MariaDB: added to an older history table, used by the growth sums, never by a dry run.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { statisticsSettingsSchema } from '../lib/config/schema';
import { openSession, type DbSession } from '../lib/db/connection';
import { credentialsFromUrl } from '../lib/db/credentials';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { collectStatistics, type CollectOptions } from '../lib/stats/collect';
import { historyDdl, StatisticsHistory, TABLE_HISTORY } from '../lib/stats/history';
import { hasWindowIndex, windowIndexDefinition } from '../lib/stats/history-window';
import { adminConnection, freshSchema, serverUrl } from './support/db';

const SCHEMA = 'stats_hw';
const HISTORY = 'stats_hw_log';
const DRY_HISTORY = 'stats_hw_dry_log';
const DAY = 86_400_000;
const OLD_SNAPSHOTS = 300;
const WINDOW_SNAPSHOTS = 5;
let admin: mysql.Connection;
let db: DbSession;
const now = new Date('2026-12-01T06:00:00Z');

/** The history tables as an install from before the window index created them. */
async function oldHistory(schema: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS \`${schema}\``);
  for (const ddl of historyDdl(schema)) {
    const old = ddl.replace(`,\n  ${windowIndexDefinition()}`, '');
    if (ddl.includes(TABLE_HISTORY)) expect(old).not.toBe(ddl);
    await admin.query(old);
  }
  // 300 daily snapshots before the 30-day window, 5 in it (5 days apart, 200 bytes more each time: 40 a day).
  await admin.query(`USE \`${schema}\``); // seq_1_to_N exists in the current schema only
  await admin.query(
    `INSERT INTO \`${schema}\`.${TABLE_HISTORY} (target, schema_name, table_name, captured_at, run_id, engine, rows_estimate, data_bytes, index_bytes, free_bytes, total_bytes)
     SELECT 'test', ?, 'grows', ? - INTERVAL (40 + seq) DAY, 'old', 'InnoDB', 1, 1000, 0, 0, 1000 FROM seq_1_to_${OLD_SNAPSHOTS}`,
    [SCHEMA, now],
  );
  await admin.query(
    `INSERT INTO \`${schema}\`.${TABLE_HISTORY} (target, schema_name, table_name, captured_at, run_id, engine, rows_estimate, data_bytes, index_bytes, free_bytes, total_bytes)
     SELECT 'test', ?, 'grows', ? - INTERVAL (seq * 5) DAY, 'new', 'InnoDB', 1, 1000000 - seq * 200, 0, 0, 1000000 - seq * 200 FROM seq_1_to_${WINDOW_SNAPSHOTS}`,
    [SCHEMA, now],
  );
}

function options(historySchema: string, dryRun: boolean): CollectOptions {
  return {
    schemas: [SCHEMA],
    target: 'test',
    runId: randomUUID(),
    settings: statisticsSettingsSchema.parse({ growthWindowDays: 30, minHistoryHours: 12 }),
    historySchema,
    fragmentationFloorBytes: 100 * 1024 * 1024,
    dryRun,
    now,
  };
}

async function handlerReads(s: DbSession): Promise<number> {
  const rows = await s.query<{ v: string }>(
    "SELECT VARIABLE_VALUE AS v FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME IN ('HANDLER_READ_NEXT', 'HANDLER_READ_FIRST', 'HANDLER_READ_KEY', 'HANDLER_READ_RND_NEXT')",
  );
  return rows.reduce((n, r) => n + Number(r.v), 0);
}

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, SCHEMA);
  await admin.query(`CREATE TABLE \`${SCHEMA}\`.grows (id INT PRIMARY KEY) ENGINE=InnoDB`);
  db = await openSession(credentialsFromUrl(serverUrl()), { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 }, 'disabled');
});

afterAll(async () => {
  await db?.close();
  for (const s of [SCHEMA, HISTORY, DRY_HISTORY]) await admin.query(`DROP DATABASE IF EXISTS \`${s}\``);
  await admin.end();
});

describe('history window index', () => {
  it('a collect run adds it to a history table created without it; the growth sums then read the window, not every snapshot kept', async () => {
    await oldHistory(HISTORY);
    expect(await hasWindowIndex(db, HISTORY, TABLE_HISTORY)).toBe(false);
    const r = await collectStatistics(db, Deadline.unlimited(), silentLog, options(HISTORY, false));
    expect(await hasWindowIndex(db, HISTORY, TABLE_HISTORY)).toBe(true);
    // The window's five snapshots and this run's (the table is tiny now): shrinking, so no grower; the sums are what counts.
    const history = new StatisticsHistory(db, HISTORY, 'test');
    const since = new Date(now.getTime() - 30 * DAY);
    const before = await handlerReads(db);
    const sums = await history.tableSums([SCHEMA], since, { windowIndex: true });
    const read = (await handlerReads(db)) - before;
    // The status query itself reads a few rows; through the primary key the sums read all 306 snapshots.
    expect(read).toBeLessThan(WINDOW_SNAPSHOTS + 1 + 40);
    const without = await history.tableSums([SCHEMA], since);
    expect(sums).toEqual(without);
    expect(sums).toEqual([expect.objectContaining({ schema: SCHEMA, table: 'grows', bytes: expect.objectContaining({ n: WINDOW_SNAPSHOTS + 1 }) })]);
    expect(r.history.written).toBe(true);
  });

  it('a dry run does not add it, and computes the same growth without it', async () => {
    await oldHistory(DRY_HISTORY);
    const r = await collectStatistics(db, Deadline.unlimited(), silentLog, options(DRY_HISTORY, true));
    expect(await hasWindowIndex(db, DRY_HISTORY, TABLE_HISTORY)).toBe(false);
    expect(r.history.written).toBe(false);
    // The window alone: +200 bytes every 5 days.
    expect(r.topGrowers).toEqual([expect.objectContaining({ table: `${SCHEMA}.grows`, bytesPerDay: 40 })]);
  });
});
