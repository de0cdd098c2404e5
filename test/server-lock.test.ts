// One heavy task at a time per database server: two targets on one MariaDB, the server lock held from a plain admin session.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as cleanupHandler } from '../functions/cleanup-data';
import { handler as statisticsHandler } from '../functions/collect-statistics';
import { useDependencies } from '../functions/lambda-handler';
import { TASKS } from '../lib/catalogue';
import { parseConfig } from '../lib/config/load';
import { credentialsFromUrl, UrlCredentialSource } from '../lib/db/credentials';
import { lambdaContext } from '../dev/lambda-context';
import { EmfMetricsPublisher } from '../lib/metrics/emf';
import { jsonLineLog } from '../lib/runtime/log';
import type { RetentionResult } from '../lib/tasks/retention-task';
import { holderLockName, serverLockName, type ServerLockHolder } from '../lib/tasks/server-lock';
import { adminConnection, freshSchema, serverUrl, TEST_SECRET_ARN } from './support/db';

const A = 'srvlock_a';
const B = 'srvlock_b';
const LOG = 'srvlock_log';
const LOCK = serverLockName(LOG);
/** The test server's admin user, whose session holds the lock. */
const USER = credentialsFromUrl(serverUrl()).user;
const OLD_ROWS = 300;
const NEW_ROWS = 200;

let admin: mysql.Connection;
let emf: string[];
let logLines: string[];
let restore: () => void;

// The two targets are two schemas of one server, as two schemas of one RDS instance would be.
const config = parseConfig({
  runLog: { schema: LOG },
  targets: [
    {
      name: 'shop-a',
      secretArn: TEST_SECRET_ARN,
      schemas: [A],
      cleanupRules: [{ table: 'sessions', dateColumn: 'expire_date', retentionDays: 30, action: 'delete' }],
    },
    { name: 'shop-b', secretArn: TEST_SECRET_ARN, schemas: [B], rebuildTables: ['t'] },
  ],
});

const routineStep = { source: 'dbmaint.routine', task: 'cleanup-data', routine: { id: 'daily-maintenance', execution: 'exec-1' }, target: 'shop-a', maxRunSeconds: 870 };
const consoleRun = { target: 'shop-a' };
const context = () => lambdaContext('dbmaint-cleanup-data', 900_000);

async function count(sql: string): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(sql);
  return Number(rows[0]!['n']);
}

/** Rows of the purged table, and of every table dbmaint writes in its run-log schema (none exist before the first real run). */
async function footprint(): Promise<{ sessions: number; dbmaintRows: number }> {
  const [tables] = await admin.query<mysql.RowDataPacket[]>(`SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?`, [LOG]);
  let dbmaintRows = 0;
  for (const t of tables) dbmaintRows += await count(`SELECT COUNT(*) AS n FROM \`${LOG}\`.\`${String(t['t'])}\``);
  return { sessions: await count(`SELECT COUNT(*) AS n FROM ${A}.sessions`), dbmaintRows };
}

/** A session that holds the server lock and, like a dbmaint run of shop-b's optimize-tables, names itself. */
async function holder(asDbmaint = true): Promise<{ conn: mysql.Connection; id: number }> {
  const conn = await adminConnection();
  const [[row]] = await conn.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS id, GET_LOCK(?, 0) AS got', [LOCK]);
  expect(row!['got']).toBe(1);
  if (asDbmaint) await conn.query('SELECT GET_LOCK(?, 0)', [holderLockName(LOG, 'shop-b', 'optimize-tables')]);
  return { conn, id: Number(row!['id']) };
}

function metricValues(name: string): number[] {
  return emf.flatMap((l) => {
    const doc = JSON.parse(l) as Record<string, unknown>;
    return name in doc ? [Number(doc[name])] : [];
  });
}

beforeAll(async () => {
  admin = await adminConnection();
  for (const s of [A, B, LOG]) await freshSchema(admin, s);
  await admin.query(`CREATE TABLE ${A}.sessions (id INT PRIMARY KEY, expire_date DATETIME NOT NULL, KEY ix_expire (expire_date)) ENGINE=InnoDB`);
  await admin.query(`CREATE TABLE ${B}.t (id INT PRIMARY KEY) ENGINE=InnoDB`);
  emf = [];
  logLines = [];
  restore = useDependencies({
    config,
    credentials: new UrlCredentialSource(serverUrl()),
    metrics: new EmfMetricsPublisher('Test/DbMaint', (l) => emf.push(l)),
    log: jsonLineLog((l) => logLines.push(l)),
  });
});

beforeEach(async () => {
  await admin.query(`DELETE FROM ${A}.sessions`);
  // Ids 1..300 expired 100 days ago, 301..500 expire in 10 days.
  await admin.query(
    `INSERT INTO ${A}.sessions (id, expire_date)
     SELECT seq, IF(seq <= ?, UTC_TIMESTAMP() - INTERVAL 100 DAY, UTC_TIMESTAMP() + INTERVAL 10 DAY) FROM ${A}.seq_1_to_${OLD_ROWS + NEW_ROWS}`,
    [OLD_ROWS],
  );
  emf.length = 0;
  logLines.length = 0;
});

afterAll(async () => {
  restore();
  await admin.end();
});

describe('the catalogue', () => {
  it('marks the tasks that write or rebuild in bulk, and only those, server-exclusive', () => {
    expect(TASKS.filter((t) => t.serverExclusive).map((t) => t.id)).toEqual(['cleanup-data', 'archive-orders', 'optimize-tables', 'rebuild-indexes']);
  });

  it('keeps lock names within MySQL 8’s 64 characters', () => {
    expect(serverLockName(LOG)).toBe('dbmaint:server-exclusive:srvlock_log');
    expect(serverLockName('s'.repeat(64))).toHaveLength(64);
    expect(holderLockName('s'.repeat(64), 'a'.repeat(31), 'rebuild-indexes').length).toBeLessThanOrEqual(64);
  });
});

describe('a heavy task while another session holds the server lock', () => {
  it('as a routine step: throws ServerBusy naming the holder, counts no failure and changes no row', async () => {
    const h = await holder();
    try {
      const before = await footprint();
      const err = (await cleanupHandler(routineStep, context()).then(
        () => undefined,
        (e: unknown) => e,
      )) as Error & { holder: ServerLockHolder };
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe('ServerBusy');
      expect(err.message).toContain(`cleanup-data for target 'shop-a' waits: ${LOCK} is held by connection ${h.id} (${USER}@`);
      expect(err.message).toContain(`dbmaint optimize-tables for target 'shop-b'`);
      expect(err.holder).toMatchObject({ connectionId: h.id, user: USER, run: { target: 'shop-b', task: 'optimize-tables' } });
      expect(await footprint()).toEqual(before);
      expect(before.sessions).toBe(OLD_ROWS + NEW_ROWS);
      expect(metricValues('ServerBusy')).toEqual([1]);
      expect(metricValues('TaskFailed')).toEqual([]);
      const busy = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['message'] === 'server busy');
      expect(busy).toMatchObject({ level: 'WARN', task: 'cleanup-data', target: 'shop-a', lock: LOCK, holderConnectionId: h.id, holderTarget: 'shop-b', holderTask: 'optimize-tables' });
      expect(logLines.some((l) => /"message":"task failed"/.test(l))).toBe(false);
    } finally {
      await h.conn.end();
    }
  });

  it('as a console run: returns deferred with the holder named, and changes nothing', async () => {
    const h = await holder(false);
    try {
      const before = await footprint();
      const out = await cleanupHandler(consoleRun, context());
      expect(out).toMatchObject({ task: 'cleanup-data', target: 'shop-a', status: 'deferred', runId: null, dryRun: false });
      const headline = (out.result as { headline: string }).headline;
      expect(headline).toBe(
        `deferred: another heavy task runs on this server; ${LOCK} is held by connection ${h.id} (${USER}@${(out.result as { holder: ServerLockHolder }).holder.host}, Sleep for ${(out.result as { holder: ServerLockHolder }).holder.seconds} s): not a dbmaint run of this configuration’s targets (or one that did not name itself)`,
      );
      expect(await footprint()).toEqual(before);
      expect(metricValues('ServerBusy')).toEqual([1]);
      expect(metricValues('TaskFailed')).toEqual([]);
    } finally {
      await h.conn.end();
    }
  });

  it('a dry run neither needs nor waits for the lock', async () => {
    const h = await holder();
    try {
      const out = await cleanupHandler({ ...consoleRun, dryRun: true }, context());
      expect(out.status).toBe('succeeded');
      expect((out.result as RetentionResult).rules[0]).toMatchObject({ status: 'dry-run', wouldRemove: OLD_ROWS, rowsDeleted: 0 });
      expect(metricValues('ServerBusy')).toEqual([]);
      expect(await count(`SELECT COUNT(*) AS n FROM ${A}.sessions`)).toBe(OLD_ROWS + NEW_ROWS);
    } finally {
      await h.conn.end();
    }
  });

  it('a task that is not server-exclusive (collect-statistics) runs while the lock is held', async () => {
    const h = await holder();
    try {
      const out = await statisticsHandler({ target: 'shop-a' }, lambdaContext('dbmaint-collect-statistics', 900_000));
      expect(out.status).toBe('succeeded');
      expect(metricValues('ServerBusy')).toEqual([]);
      // Still the admin session's: collect-statistics never touched it.
      const [[row]] = await admin.query<mysql.RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS id', [LOCK]);
      expect(Number(row!['id'])).toBe(h.id);
    } finally {
      await h.conn.end();
    }
  });
});

describe('once the lock is free', () => {
  it('after the holder releases it, the same routine step runs, and releases the lock at its end', async () => {
    const h = await holder();
    await expect(cleanupHandler(routineStep, context())).rejects.toMatchObject({ name: 'ServerBusy' });
    await h.conn.query('SELECT RELEASE_LOCK(?), RELEASE_LOCK(?)', [LOCK, holderLockName(LOG, 'shop-b', 'optimize-tables')]);
    const out = await cleanupHandler(routineStep, context());
    expect(out.status).toBe('succeeded');
    expect((out.result as RetentionResult).rowsDeleted).toBe(OLD_ROWS);
    expect(await count(`SELECT COUNT(*) AS n FROM ${A}.sessions`)).toBe(NEW_ROWS);
    const [[row]] = await admin.query<mysql.RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS server, IS_USED_LOCK(?) AS holder', [LOCK, holderLockName(LOG, 'shop-a', 'cleanup-data')]);
    expect(row).toEqual({ server: null, holder: null });
    await h.conn.end();
  });

  it('a crashed holder (its connection KILLed) frees the lock and the console run goes ahead', async () => {
    const h = await holder();
    const deferred = await cleanupHandler(consoleRun, context());
    expect(deferred.status).toBe('deferred');
    h.conn.on('error', () => undefined); // the killed session's socket error is the point of the test
    await admin.query(`KILL CONNECTION ${h.id}`);
    // The server releases a killed session's locks as the session ends: wait for that event, not for a time.
    const waiter = await adminConnection();
    const [[got]] = await waiter.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 120) AS got', [LOCK]);
    expect(got!['got']).toBe(1);
    await waiter.query('SELECT RELEASE_LOCK(?)', [LOCK]);
    await waiter.end();
    const out = await cleanupHandler(consoleRun, context());
    expect(out.status).toBe('succeeded');
    expect(await count(`SELECT COUNT(*) AS n FROM ${A}.sessions`)).toBe(NEW_ROWS);
    h.conn.destroy();
  });
});
