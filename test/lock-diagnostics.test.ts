// Lock diagnostics against a real MariaDB of its own (METADATA_LOCK_INFO and performance_schema's MDL instrument are switched here):
// a purge chunk, an ANALYZE and a rebuild that give up on a lock say which lock it was and who held it.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, type DbSession } from '../lib/db/connection';
import { credentialsFromUrl, UrlCredentialSource } from '../lib/db/credentials';
import { LockWatch } from '../lib/db/lock-diagnostics';
import { startLocalMariaDb, type LocalMariaDb } from '../dev/mariadb-server';
import type { AnalyzeResult } from '../lib/maintenance/analyze';
import type { RebuildResult } from '../lib/maintenance/rebuild';
import { digestOf } from '../lib/reporting/digest';
import { renderDailyReport } from '../lib/reporting/mail/render';
import type { RuleResult } from '../lib/retention/engine';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { runTask } from '../lib/tasks/registry';
import type { TaskEnvironment, TaskRunResult } from '../lib/tasks/task-module';
import { adminConnection, freshSchema, testConfig } from './support/db';
import { recordingMetrics } from './support/recording-metrics';
import { rule, run } from './support/retention';
import { interceptStatements } from './support/statement-interceptor';

const S = 'lockdiag';
const LOG = `${S}_log`;
let srv: LocalMariaDb;
let admin: mysql.Connection;
const open: { end(): Promise<void> }[] = [];

/** An application connection, closed after the file. */
async function app(): Promise<mysql.Connection> {
  const c = await adminConnection(srv.url);
  open.push(c);
  return c;
}

/** A dbmaint session with 1 s lock waits (session.lockWaitTimeoutSeconds / innodbLockWaitTimeoutSeconds). */
async function session(): Promise<DbSession> {
  const s = await openSession(credentialsFromUrl(srv.url), { lockWaitTimeoutSeconds: 1, innodbLockWaitTimeoutSeconds: 1, connectTimeoutSeconds: 5 }, 'disabled');
  open.push({ end: () => s.close() });
  return s;
}

/** `n` rows, ids 1..n, the first half 40 days old. */
async function table(name: string, n = 2000): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS ${S}.${name}`);
  await admin.query(`CREATE TABLE ${S}.${name} (id BIGINT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL, payload VARCHAR(100) NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
  await admin.query(`INSERT INTO ${S}.${name} (created_at, payload) SELECT UTC_TIMESTAMP() - INTERVAL IF(seq <= ${n / 2}, 40, 1) DAY, REPEAT('p', 50) FROM seq_1_to_${n}`);
}

/** One purge rule on sessions of this server: one walking session, a boundary reader, a lock watch of its own. */
async function purge(name: string, db?: DbSession): Promise<RuleResult> {
  return run(rule(S, name), {
    db: db ?? (await session()),
    reader: await session(),
    second: null,
    runLogSchema: LOG,
    lockWatch: new LockWatch(() => session(), silentLog),
    settings: { initialChunkRows: 200, maxChunkRows: 200 },
  });
}

async function chunkErrors(name: string): Promise<string[]> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(
    `SELECT error_message AS m FROM ${LOG}.command_log WHERE table_name = ? AND command_type = 'PURGE-CHUNK' AND error_number IS NOT NULL ORDER BY id`,
    [name],
  );
  return rows.map((r) => String(r['m']));
}

function env(): TaskEnvironment {
  return {
    config: testConfig([S], { session: { lockWaitTimeoutSeconds: 1, innodbLockWaitTimeoutSeconds: 1, connectTimeoutSeconds: 5 }, optimize: { lockWaitTimeoutSeconds: 1 } }, LOG),
    credentials: new UrlCredentialSource(srv.url),
    metrics: recordingMetrics().metrics,
    log: silentLog,
    deadline: Deadline.unlimited(),
  };
}

/** The text part of a daily report of these runs. */
function dailyText(...runs: TaskRunResult[]): string {
  return renderDailyReport({ target: 'test', periodStart: runs[0]!.startedAt, periodEnd: new Date().toISOString(), runs: runs.map((r) => digestOf(r)), recommendations: [] }).text;
}

/** Until `sql` (on information_schema.PROCESSLIST) finds a row. */
async function waitFor(sql: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(sql);
    if (rows.length > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never: ${sql}`);
}

beforeAll(async () => {
  // performance_schema on, its metadata-lock instrument off (MariaDB's default): a test turns it on, as MySQL 8 has it.
  srv = await startLocalMariaDb({ extraArgs: ['--performance-schema=ON'] });
  admin = await adminConnection(srv.url);
  await freshSchema(admin, S);
  await admin.query(`USE ${S}`); // seq_1_to_N needs a current schema
});
afterAll(async () => {
  for (const c of open) await c.end().catch(() => undefined);
  await admin?.end();
  await srv?.stop();
});

describe('a purge chunk that gives up on a lock', () => {
  it('on a row lock: says "row lock" and names the session holding the row (SELECT … FOR UPDATE in an open transaction)', async () => {
    await table('rowlock');
    const holder = await app();
    await holder.query('START TRANSACTION');
    await holder.query(`SELECT id FROM ${S}.rowlock WHERE id = 5 FOR UPDATE`);
    const res = await purge('rowlock');
    await holder.query('ROLLBACK');
    expect(res).toMatchObject({ status: 'failed', retries: 5 });
    expect(res.blocker).toMatchObject({ kind: 'row lock', object: `\`${S}\`.\`rowlock\` (index PRIMARY)`, observed: 'while waiting' });
    expect(res.blocker!.blockers).toMatchObject([{ connectionId: holder.threadId, role: 'holds', command: 'Sleep', lock: 'X record lock on 5' }]);
    expect(res.message).toMatch(
      new RegExp(`^chunk 6 failed: Lock wait timeout exceeded; try restarting transaction — row lock on \`${S}\`\\.\`rowlock\` \\(index PRIMARY\\), held by connection ${holder.threadId} \\(`),
    );
    // Every failed attempt's run-log row says the same.
    const errors = await chunkErrors('rowlock');
    expect(errors).toHaveLength(6);
    for (const e of errors) expect(e).toContain(`— row lock on \`${S}\`.\`rowlock\` (index PRIMARY), held by connection ${holder.threadId} (`);
  });

  it('on a metadata lock (LOCK TABLES … WRITE), with METADATA_LOCK_INFO: says "metadata lock" and names the holder', async () => {
    await table('mdl');
    await admin.query("INSTALL SONAME 'metadata_lock_info'");
    const holder = await app();
    try {
      // The application locks the table once the first chunk has committed.
      let locked = false;
      const db = interceptStatements(await session(), {
        after: async (e) => {
          if (e.kind === 'commit' && !locked) {
            locked = true;
            await holder.query(`LOCK TABLES ${S}.mdl WRITE`);
          }
        },
      });
      const res = await purge('mdl', db);
      expect(locked).toBe(true);
      expect(res).toMatchObject({ status: 'failed', chunks: 1 });
      expect(res.blocker).toMatchObject({ kind: 'metadata lock', object: `\`${S}\`.\`mdl\``, observed: 'while waiting' });
      expect(res.blocker!.blockers).toMatchObject([{ connectionId: holder.threadId, role: 'holds', lock: 'MDL_SHARED_NO_READ_WRITE' }]);
      expect(res.message).toContain(`— metadata lock on \`${S}\`.\`mdl\`, held by connection ${holder.threadId} (`);
      for (const e of await chunkErrors('mdl')) expect(e).toContain(`— metadata lock on \`${S}\`.\`mdl\`, held by connection ${holder.threadId} (`);
    } finally {
      await holder.query('UNLOCK TABLES');
      await admin.query("UNINSTALL SONAME 'metadata_lock_info'");
    }
  });

  it('on a metadata lock behind a pending ALTER, without METADATA_LOCK_INFO: names the ALTER and the open transaction it waits for, and how to see more', async () => {
    await table('queued');
    const reader = await app();
    const ddl = await app();
    let alter: Promise<unknown> | undefined;
    const db = interceptStatements(await session(), {
      after: async (e) => {
        if (e.kind === 'commit' && !alter) {
          // An application transaction reads the table and stays open; an ALTER then waits for it, and every
          // later statement on the table queues behind the ALTER.
          await reader.query('START TRANSACTION');
          await reader.query(`SELECT id FROM ${S}.queued LIMIT 1`);
          await ddl.query('SET SESSION lock_wait_timeout = 60');
          alter = ddl.query(`ALTER TABLE ${S}.queued COMMENT 'x'`);
          await waitFor(`SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ${ddl.threadId} AND STATE = 'Waiting for table metadata lock'`);
        }
      },
    });
    const res = await purge('queued', db);
    await reader.query('ROLLBACK');
    await alter;
    expect(res).toMatchObject({ status: 'failed', chunks: 1 });
    expect(res.blocker).toMatchObject({ kind: 'metadata lock', observed: 'while waiting' });
    const roles = Object.fromEntries(res.blocker!.blockers.map((b) => [b.connectionId, b.role]));
    expect(roles).toEqual({ [ddl.threadId]: 'queued ahead', [reader.threadId]: 'may hold' });
    expect(res.message).toContain(`queued behind connection ${ddl.threadId} (`);
    expect(res.message).toContain(`"ALTER TABLE ${S}.queued COMMENT 'x'"`);
    expect(res.message).toContain(`possibly held by connection ${reader.threadId} (`);
    expect(res.message).toContain("not visible: metadata lock holders: shown by MariaDB's METADATA_LOCK_INFO plugin (INSTALL SONAME 'metadata_lock_info')");
  });

  it('behind a pending ALTER, with performance_schema.metadata_locks (MySQL 8’s source): names the ALTER queued ahead and the transaction holding the table', async () => {
    await table('psq');
    const reader = await app();
    const ddl = await app();
    let alter: Promise<unknown> | undefined;
    await admin.query("UPDATE performance_schema.setup_instruments SET ENABLED = 'YES' WHERE NAME = 'wait/lock/metadata/sql/mdl'");
    try {
      const db = interceptStatements(await session(), {
        after: async (e) => {
          if (e.kind === 'commit' && !alter) {
            await reader.query('START TRANSACTION');
            await reader.query(`SELECT id FROM ${S}.psq LIMIT 1`);
            await ddl.query('SET SESSION lock_wait_timeout = 60');
            alter = ddl.query(`ALTER TABLE ${S}.psq COMMENT 'x'`);
            await waitFor(`SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ${ddl.threadId} AND STATE = 'Waiting for table metadata lock'`);
          }
        },
      });
      const res = await purge('psq', db);
      await reader.query('ROLLBACK');
      await alter;
      expect(res).toMatchObject({ status: 'failed', chunks: 1 });
      expect(res.blocker).toMatchObject({ kind: 'metadata lock', object: `\`${S}\`.\`psq\``, observed: 'while waiting', unseen: [] });
      expect(res.blocker!.blockers).toMatchObject([
        { connectionId: ddl.threadId, role: 'queued ahead', lock: 'EXCLUSIVE' },
        { connectionId: reader.threadId, role: 'holds', lock: 'SHARED_READ' },
      ]);
      expect(res.message).toContain(`held by connection ${reader.threadId} (`);
    } finally {
      await admin.query("UPDATE performance_schema.setup_instruments SET ENABLED = 'NO' WHERE NAME = 'wait/lock/metadata/sql/mdl'");
    }
  });
});

describe('ANALYZE and the rebuild that give up on a metadata lock', () => {
  it('ANALYZE behind LOCK TABLES … WRITE: names the holder with METADATA_LOCK_INFO, says what is missing without; the daily report shows it', async () => {
    await table('an', 200);
    const holder = await app();
    await holder.query(`LOCK TABLES ${S}.an WRITE`);
    try {
      await admin.query("INSTALL SONAME 'metadata_lock_info'");
      const seen = await runTask('analyze-tables', { tables: ['an'], force: true }, env());
      await admin.query("UNINSTALL SONAME 'metadata_lock_info'");
      const unseen = await runTask('analyze-tables', { tables: ['an'], force: true }, env());

      const t = (seen.result as AnalyzeResult).tables[0]!;
      expect(seen.status).toBe('failed');
      expect(t).toMatchObject({ table: 'an', action: 'failed' });
      expect(t.blocker).toMatchObject({ kind: 'metadata lock', object: `\`${S}\`.\`an\``, observed: 'while waiting' });
      expect(t.blocker!.blockers).toMatchObject([{ connectionId: holder.threadId, role: 'holds', lock: 'MDL_SHARED_NO_READ_WRITE' }]);
      expect(t.detail).toContain(`Lock wait timeout exceeded; try restarting transaction — metadata lock on \`${S}\`.\`an\`, held by connection ${holder.threadId} (`);
      const [cmd] = await admin.query<mysql.RowDataPacket[]>(`SELECT error_message AS m FROM ${LOG}.command_log WHERE run_id = ? AND command_type = 'ANALYZE'`, [seen.runId]);
      expect(String(cmd[0]!['m'])).toBe(t.detail);

      const u = (unseen.result as AnalyzeResult).tables[0]!;
      expect(u.blocker).toMatchObject({ kind: 'metadata lock', observed: 'while waiting', blockers: [] });
      expect(u.detail).toContain("holder not seen (seen while waiting");
      expect(u.detail).toContain("INSTALL SONAME 'metadata_lock_info'");

      const daily = dailyText(seen, unseen);
      expect(daily).toContain(`held by connection ${holder.threadId}`);
    } finally {
      await holder.query('UNLOCK TABLES');
      await admin.query("UNINSTALL SONAME 'metadata_lock_info'").catch(() => undefined);
    }
  });

  it('an ALTER (rebuild-indexes) behind an open transaction, metadata locks not visible: names the transaction as the likely holder', async () => {
    await table('rb', 200);
    const holder = await app();
    await holder.query('START TRANSACTION');
    await holder.query(`SELECT id FROM ${S}.rb LIMIT 1`);
    try {
      const out = await runTask('rebuild-indexes', { tables: ['rb'] }, env());
      const t = (out.result as RebuildResult).tables[0]!;
      expect(t).toMatchObject({ table: 'rb', action: 'skipped', busy: true });
      expect(t.blocker).toMatchObject({ kind: 'metadata lock', observed: 'while waiting' });
      expect(t.blocker!.blockers).toMatchObject([{ connectionId: holder.threadId, role: 'may hold', command: 'Sleep' }]);
      expect(t.detail).toMatch(/^busy: metadata lock not granted within 1 s \(lock_wait_timeout\); nothing changed: metadata lock on `lockdiag`\.`rb`, possibly held by connection \d+ \(/);
      expect(t.detail).toContain(`possibly held by connection ${holder.threadId} (`);
      const [cmd] = await admin.query<mysql.RowDataPacket[]>(`SELECT error_number AS n, error_message AS m FROM ${LOG}.command_log WHERE run_id = ? AND command_type = 'REBUILD'`, [
        out.runId,
      ]);
      expect(Number(cmd[0]!['n'])).toBe(1205);
      expect(String(cmd[0]!['m'])).toContain(`— metadata lock on \`${S}\`.\`rb\`, possibly held by connection ${holder.threadId} (`);
      expect(dailyText(out)).toContain(`possibly held by connection ${holder.threadId}`);
    } finally {
      await holder.query('ROLLBACK');
    }
  });
});
