// optimize-tables and rebuild-indexes against a real MariaDB: fragmented vs small vs dense tables, busy tables, time budget, bad names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { UrlCredentialSource } from '../lib/db/credentials';
import { EventValidationError } from '../lib/events/schema';
import type { OptimizeResult } from '../lib/maintenance/optimize';
import type { RebuildResult } from '../lib/maintenance/rebuild';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, freshSchema, serverUrl, testConfig } from './support/db';
import { recordingMetrics } from './support/recording-metrics';
import { sameTable } from '../lib/maintenance/table-identity';

const SCHEMA = 'optimize_t';
const LOG_SCHEMA = 'optimize_t_log';
let admin: mysql.Connection;
const { metrics, published } = recordingMetrics();

function env(opts: { deadline?: Deadline; extra?: Record<string, unknown> } = {}) {
  return {
    config: testConfig(
      [SCHEMA],
      { thresholds: { optimizeMinSizeMb: 8, fragmentationPercent: 50 }, optimize: { lockWaitTimeoutSeconds: 1 }, ...opts.extra },
      LOG_SCHEMA,
    ),
    credentials: new UrlCredentialSource(serverUrl()),
    metrics,
    log: silentLog,
    deadline: opts.deadline ?? Deadline.unlimited(),
  };
}

/** Bytes of the table's .ibd file, read from the InnoDB dictionary by the test itself. */
async function fileSize(table: string): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(
    `SELECT s.FILE_SIZE AS n FROM information_schema.INNODB_SYS_TABLES t JOIN information_schema.INNODB_SYS_TABLESPACES s ON s.SPACE = t.SPACE WHERE t.NAME = ?`,
    [`${SCHEMA}/${table}`],
  );
  return Number(rows[0]!['n']);
}

async function makeTable(name: string, rows: number, keepEvery: number): Promise<void> {
  await admin.query(`CREATE TABLE \`${SCHEMA}\`.${name} (id INT PRIMARY KEY, k INT NOT NULL, pad VARCHAR(200) NOT NULL, KEY ix_k (k)) ENGINE=InnoDB`);
  for (let done = 0; done < rows; done += 50_000) {
    await admin.query(`INSERT INTO \`${SCHEMA}\`.${name} SELECT seq, seq % 977, REPEAT('x', 200) FROM seq_1_to_${rows} WHERE seq > ? AND seq <= ?`, [done, done + 50_000]);
  }
  if (keepEvery > 1) await admin.query(`DELETE FROM \`${SCHEMA}\`.${name} WHERE id % ? <> 0`, [keepEvery]);
}

async function commandsOf(runId: string | null): Promise<{ type: string; command: string; error: number | null }[]> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(
    `SELECT command_type AS type, command, error_number AS error FROM \`${LOG_SCHEMA}\`.command_log WHERE run_id = ? ORDER BY id`,
    [runId],
  );
  return rows as { type: string; command: string; error: number | null }[];
}

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, SCHEMA);
  await admin.query(`DROP DATABASE IF EXISTS \`${LOG_SCHEMA}\``);
  await admin.query(`USE \`${SCHEMA}\``);
  // ~24 MB, 90% deleted: fragmented and over the 8 MB floor.
  await makeTable('fragmented', 100_000, 10);
  // Fragmented too, but under the floor.
  await makeTable('small_fragmented', 1_000, 10);
  // Over the floor, not fragmented (file preallocation shows as ~35% free at this size: under the 50% threshold).
  await makeTable('dense', 60_000, 1);
  await admin.query(`CREATE TABLE \`${SCHEMA}\`.docs (id INT PRIMARY KEY, body TEXT, FULLTEXT KEY ft (body)) ENGINE=InnoDB`);
  await admin.query(`INSERT INTO \`${SCHEMA}\`.docs VALUES (1, 'hello world')`);
  await settle(['fragmented', 'small_fragmented', 'dense']);
});

/** Let InnoDB purge the deleted records, then refresh statistics, so figures do not depend on background timing. */
async function settle(tables: string[]): Promise<void> {
  await admin.query('SET GLOBAL innodb_max_purge_lag_wait = 0');
  for (const t of tables) await admin.query(`ANALYZE TABLE \`${SCHEMA}\`.${t}`);
}
afterAll(async () => {
  await admin.query("UNINSTALL SONAME 'metadata_lock_info'").catch(() => undefined);
  await admin.end();
});

describe('optimize-tables', () => {
  it('dry run lists the fragmented table and changes nothing', async () => {
    const before = await fileSize('fragmented');
    const out = await runTask('optimize-tables', { dryRun: true }, env());
    const r = out.result as OptimizeResult;
    expect(r.tables.map((t) => `${t.table}:${t.action}`)).toEqual(['fragmented:would-rebuild']);
    expect(r.tables[0]!.statement).toBe('ALTER TABLE `optimize_t`.`fragmented` FORCE, ALGORITHM=INPLACE, LOCK=NONE');
    expect(r.tables[0]!.reason).toMatch(/% free/);
    expect(await fileSize('fragmented')).toBe(before);
  });

  it('rebuilds only the large fragmented table online; its free bytes fall and the file shrinks', async () => {
    const fileBefore = await fileSize('fragmented');
    const others = { small: await fileSize('small_fragmented'), dense: await fileSize('dense') };
    published.length = 0;
    const out = await runTask('optimize-tables', {}, env());
    const r = out.result as OptimizeResult;
    expect(out.status).toBe('succeeded');
    expect(r.tables.map((t) => `${t.table}:${t.action}`)).toEqual(['fragmented:rebuilt']);
    const t = r.tables[0]!;
    expect(t.after!.freeBytes).toBeLessThan(t.before.freeBytes / 2);
    expect(t.before.fragmentationPercent!).toBeGreaterThanOrEqual(30);
    expect(t.after!.fragmentationPercent!).toBeLessThan(50);
    const fileAfter = await fileSize('fragmented');
    expect(fileAfter).toBeLessThan(fileBefore / 2);
    expect(t.reclaimedBytes).toBe(fileBefore - fileAfter);
    expect(r.bytesReclaimed).toBe(t.reclaimedBytes);
    // The others were left alone.
    expect(await fileSize('small_fragmented')).toBe(others.small);
    expect(await fileSize('dense')).toBe(others.dense);
    // Rows survive a rebuild.
    const [[c]] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${SCHEMA}\`.fragmented`);
    expect(Number(c!['n'])).toBe(10_000);
    const cmds = await commandsOf(out.runId);
    expect(cmds.map((c) => c.type)).toEqual(['ANALYZE', 'REBUILD']);
    expect(cmds[1]!.command).toContain('ALTER TABLE `optimize_t`.`fragmented` FORCE, ALGORITHM=INPLACE, LOCK=NONE');
    expect(published).toEqual(expect.arrayContaining(['*:TablesOptimized=1', `*:BytesReclaimed=${t.reclaimedBytes}`, `optimize_t.fragmented:BytesReclaimed=${t.reclaimedBytes}`]));
    // Nothing crosses the thresholds any more.
    const again = await runTask('optimize-tables', { dryRun: true }, env());
    expect((again.result as OptimizeResult).tables).toEqual([]);
  });

  it('leaves a table alone for minDaysBetweenRebuilds after rebuilding it, unless forced by name', async () => {
    await makeTable('churn', 100_000, 10);
    await settle(['churn']);
    const small = { extra: { thresholds: { optimizeMinSizeMb: 0.5, fragmentationPercent: 50 }, optimize: { lockWaitTimeoutSeconds: 1 } } };
    const first = await runTask('optimize-tables', { tables: ['churn'] }, env(small));
    expect((first.result as OptimizeResult).tables[0]!.action).toBe('rebuilt');
    // Fragment it again: it crosses the thresholds, but was rebuilt moments ago.
    await admin.query(`DELETE FROM \`${SCHEMA}\`.churn WHERE id % 100 <> 0`);
    await settle(['churn']);
    const again = await runTask('optimize-tables', { tables: ['churn'] }, env(small));
    const t = (again.result as OptimizeResult).tables[0]!;
    expect(t.action).toBe('skipped');
    expect(t.detail).toMatch(/^rebuilt 0\.0 days ago; optimize waits 7 days between rebuilds/);
    const forced = await runTask('optimize-tables', { tables: ['churn'], force: true }, env(small));
    expect((forced.result as OptimizeResult).tables[0]!.action).toBe('rebuilt');
  });

  it('a table dropped and recreated since its last rebuild is another table: rebuilt, not skipped', async () => {
    await makeTable('reborn', 100_000, 10);
    await settle(['reborn']);
    const small = { extra: { thresholds: { optimizeMinSizeMb: 0.5, fragmentationPercent: 50 }, optimize: { lockWaitTimeoutSeconds: 1 } } };
    const first = await runTask('optimize-tables', { tables: ['reborn'] }, env(small));
    expect((first.result as OptimizeResult).tables[0]!.action).toBe('rebuilt');
    // The identity recorded is the table's after our rebuild (the rebuild itself gives it a new one).
    const [[row]] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT extra FROM \`${LOG_SCHEMA}\`.command_log WHERE run_id = ? AND command_type = 'REBUILD'`,
      [first.runId],
    );
    const [[dict]] = await admin.query<mysql.RowDataPacket[]>('SELECT TABLE_ID AS id FROM information_schema.INNODB_SYS_TABLES WHERE NAME = ?', [`${SCHEMA}/reborn`]);
    expect(JSON.parse(String(row!['extra'])).identity.tableId).toBe(Number(dict!['id']));
    // Dropped and created again under the same name (a migration, a restore), and fragmented: a different table.
    await admin.query(`DROP TABLE \`${SCHEMA}\`.reborn`);
    await makeTable('reborn', 100_000, 10);
    await settle(['reborn']);
    const again = await runTask('optimize-tables', { tables: ['reborn'] }, env(small));
    const t = (again.result as OptimizeResult).tables[0]!;
    expect(t.action).toBe('rebuilt');
    expect(t.detail).toMatch(/^a table of this name was rebuilt 0\.0 days ago, but this one was created since \(table id \d+\): not the same table$/);
    // Fragmented again without being recreated: the interval applies to it, as before.
    await admin.query(`DELETE FROM \`${SCHEMA}\`.reborn WHERE id % 100 <> 0`);
    await settle(['reborn']);
    const third = await runTask('optimize-tables', { tables: ['reborn'] }, env(small));
    expect((third.result as OptimizeResult).tables[0]!.detail).toMatch(/^rebuilt 0\.0 days ago; optimize waits 7 days/);
  });

  it('gives up on a table another transaction holds within lock_wait_timeout, and the application is not left queued behind it', async () => {
    await admin.query(`DELETE FROM \`${SCHEMA}\`.dense WHERE id % 10 <> 0`);
    await settle(['dense']);
    const before = await fileSize('dense');
    const holder = await adminConnection();
    const reader = await adminConnection();
    try {
      await holder.query('START TRANSACTION');
      await holder.query(`SELECT id FROM \`${SCHEMA}\`.dense LIMIT 1`);
      const run = runTask('optimize-tables', { tables: ['dense'] }, env());
      // Wait until the ALTER waits for the metadata lock, then start an application read behind it.
      let waiting = false;
      for (let i = 0; i < 200 && !waiting; i++) {
        const [p] = await admin.query<mysql.RowDataPacket[]>("SELECT 1 FROM information_schema.PROCESSLIST WHERE STATE = 'Waiting for table metadata lock' AND INFO LIKE '%ALTER TABLE%dense%'");
        waiting = p.length > 0;
        if (!waiting) await new Promise((r) => setTimeout(r, 25));
      }
      expect(waiting).toBe(true);
      const read = reader.query(`SELECT COUNT(*) AS n FROM \`${SCHEMA}\`.dense`);
      const out = await run;
      const r = out.result as OptimizeResult;
      expect(r.tables[0]).toMatchObject({ table: 'dense', action: 'skipped', busy: true });
      expect(r.tables[0]!.detail).toMatch(/lock_wait_timeout/);
      // The read finishes while the holder's transaction is still open: it was not stuck behind the ALTER.
      const [[c]] = (await read) as unknown as [mysql.RowDataPacket[]];
      expect(Number(c!['n'])).toBe(6_000);
      const [[trx]] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?', [holder.threadId]);
      expect(Number(trx!['n'])).toBe(1);
      expect(await fileSize('dense')).toBe(before);
      const cmds = await commandsOf(out.runId);
      expect(cmds.find((c) => c.type === 'REBUILD')!.error).toBe(1205);
      expect(published).toContain('*:TablesBusy=1');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await reader.end();
    }
  });

  it('with metadata locks visible, skips a held table without asking for the lock at all', async () => {
    await admin.query("INSTALL SONAME 'metadata_lock_info'");
    const holder = await adminConnection();
    try {
      await holder.query('START TRANSACTION');
      await holder.query(`SELECT id FROM \`${SCHEMA}\`.dense LIMIT 1`);
      const out = await runTask('optimize-tables', { tables: ['dense'] }, env());
      const r = out.result as OptimizeResult;
      expect(r.lockVisibility).toBe('metadata_lock_info');
      expect(r.tables[0]).toMatchObject({ table: 'dense', action: 'skipped', busy: true });
      expect(r.tables[0]!.detail).toContain(`thread ${holder.threadId}`);
      expect((await commandsOf(out.runId)).filter((c) => c.type === 'REBUILD')).toEqual([]);
      // Released: the same run rebuilds it.
      await holder.query('ROLLBACK');
      const ok = await runTask('optimize-tables', { tables: ['dense'] }, env());
      expect((ok.result as OptimizeResult).tables[0]!.action).toBe('rebuilt');
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
      await admin.query("UNINSTALL SONAME 'metadata_lock_info'");
    }
  });

  it('does not start a rebuild the time budget cannot finish', async () => {
    await admin.query(`DELETE FROM \`${SCHEMA}\`.small_fragmented WHERE id % 20 <> 0`);
    const before = await fileSize('small_fragmented');
    const out = await runTask('optimize-tables', { tables: ['small_fragmented'], force: true }, env({ deadline: Deadline.fromRemaining(15_000, 0) }));
    expect(out.status).toBe('stopped-at-deadline');
    const r = out.result as OptimizeResult;
    expect(r.tables[0]).toMatchObject({ table: 'small_fragmented', action: 'deferred' });
    expect(r.remaining).toEqual(['optimize_t.small_fragmented']);
    expect(await fileSize('small_fragmented')).toBe(before);
  });

  it('skips a FULLTEXT table (no LOCK=NONE rebuild) unless locking rebuilds are allowed', async () => {
    const out = await runTask('optimize-tables', { tables: ['docs'], force: true }, env());
    expect((out.result as OptimizeResult).tables[0]).toMatchObject({ table: 'docs', action: 'skipped' });
    expect((out.result as OptimizeResult).tables[0]!.detail).toMatch(/FULLTEXT/);
    const allowed = await runTask('optimize-tables', { tables: ['docs'], force: true }, env({ extra: { optimize: { lockWaitTimeoutSeconds: 1, allowLockingRebuild: true } } }));
    const t = (allowed.result as OptimizeResult).tables[0]!;
    expect(t.action).toBe('rebuilt');
    expect(t.statement).toContain('LOCK=SHARED');
  });
});

describe('rebuild-indexes', () => {
  it('rebuilds the named table through the same online path', async () => {
    const out = await runTask('rebuild-indexes', { tables: ['optimize_t.fragmented'] }, env());
    const r = out.result as RebuildResult;
    expect(r.tables.map((t) => `${t.table}:${t.action}`)).toEqual(['fragmented:rebuilt']);
    expect((await commandsOf(out.runId)).map((c) => c.type)).toEqual(['REBUILD']);
  });

  it('uses the target’s rebuildTables when the payload names none', async () => {
    const cfg = env();
    const withList = { ...cfg, config: { ...cfg.config, targets: [{ ...cfg.config.targets[0]!, rebuildTables: ['dense'] }] } };
    const out = await runTask('rebuild-indexes', {}, withList);
    expect((out.result as RebuildResult).tables.map((t) => `${t.table}:${t.action}:${t.reason}`)).toEqual(['dense:rebuilt:named in config.rebuildTables']);
  });

  it('rejects unknown tables, other schemas and a missing list before any SQL', async () => {
    const before = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${LOG_SCHEMA}\`.command_log`);
    await expect(runTask('rebuild-indexes', { tables: ['nope'] }, env())).rejects.toThrow(/event\.tables\[0\]: table 'nope' does not exist/);
    await expect(runTask('rebuild-indexes', { tables: ['mysql.user'] }, env())).rejects.toThrow(EventValidationError);
    await expect(runTask('rebuild-indexes', { tables: ['a`b'] }, env())).rejects.toThrow(/event\.tables\[0\]/);
    await expect(runTask('rebuild-indexes', {}, env())).rejects.toThrow(/configures no rebuildTables/);
    const after = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${LOG_SCHEMA}\`.command_log`);
    expect(after[0][0]!['n']).toBe(before[0][0]!['n']);
  });
});

describe('sameTable', () => {
  it('compares table ids when both sides have one, else CREATE_TIME, else cannot tell', () => {
    expect(sameTable({ tableId: 7, createTime: 100 }, { tableId: 7, createTime: 999 })).toBe(true);
    expect(sameTable({ tableId: 7, createTime: 100 }, { tableId: 8, createTime: 100 })).toBe(false);
    // Without PROCESS now: the CREATE_TIME recorded with it decides.
    expect(sameTable({ tableId: 7, createTime: 100 }, { tableId: null, createTime: 100 })).toBe(true);
    expect(sameTable({ tableId: null, createTime: 100 }, { tableId: 7, createTime: 101 })).toBe(false);
    // A rebuild logged before identities were recorded: the interval applies by name, as it did.
    expect(sameTable(undefined, { tableId: 7, createTime: 100 })).toBeUndefined();
    expect(sameTable({ tableId: 'x' }, { tableId: 7, createTime: null })).toBeUndefined();
  });
});
