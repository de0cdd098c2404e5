// The retention engine against real MariaDB: key shapes, walks, archive atomicity under KILL, deadline, locks, refusals.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockName } from '../lib/retention/engine';
import { adminConnection, freshSchema } from './support/db';
import { recordingLog } from './support/recording-log';
import { CountingDeadline, rule, run, session, SETTINGS } from './support/retention';
import { retentionTables } from './support/retention-tables';

const S = 'ret_t';
let admin: mysql.Connection;

const { count, intTable, charTable } = retentionTables(() => admin, S);

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, S);
  await admin.query(`USE ${S}`); // MariaDB's seq_1_to_N tables need a current schema
  await admin.query(`DROP DATABASE IF EXISTS ${S}_log`);
  await admin.query(`DROP DATABASE IF EXISTS ${S}_arch`);
});
afterAll(async () => {
  await admin.end();
});

describe('delete', () => {
  it('purges an integer-key table by key ranges when dates rise with the key; dry-run count equals what goes', async () => {
    await intTable('events', 20_000);
    const dry = await run(rule(S, 'events'), { dryRun: true });
    expect(dry).toMatchObject({ status: 'dry-run', wouldRemove: 10_000, wouldRemoveEstimated: false, walk: 'primary-key', index: 'PRIMARY' });
    expect(await count(`SELECT COUNT(*) n FROM ${S}.events`)).toBe(20_000);

    const res = await run(rule(S, 'events'), { settings: { initialChunkRows: 1000, maxChunkRows: 3000 } });
    expect(res).toMatchObject({ status: 'completed', rowsDeleted: 10_000, rowsRemaining: 0, walk: 'primary-key' });
    expect(res.chunks).toBeGreaterThan(3);
    expect(res.walkReason).toMatch(/10000 of \d+ rows in the key range \(.*\) match/);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.events WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`)).toBe(0);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.events`)).toBe(10_000);
    // Every chunk is in the run log.
    expect(await count(`SELECT COUNT(*) n FROM ${S}_log.command_log WHERE command_type = 'PURGE-CHUNK' AND table_name = 'events'`)).toBe(res.chunks);
  });

  it('walks the date index when matching rows are sparse in their key range', async () => {
    await intTable('sparse', 20_000);
    // Only 300 old rows, spread across the whole key range.
    await admin.query(`UPDATE ${S}.sparse SET created_at = UTC_TIMESTAMP() - INTERVAL 1 DAY`);
    await admin.query(`UPDATE ${S}.sparse SET created_at = UTC_TIMESTAMP() - INTERVAL 50 DAY WHERE id % 67 = 0`);
    const expected = await count(`SELECT COUNT(*) n FROM ${S}.sparse WHERE id % 67 = 0`);
    const res = await run(rule(S, 'sparse'), { settings: { initialChunkRows: 100, minChunkRows: 50 } });
    expect(res).toMatchObject({ status: 'completed', walk: 'date-index', index: 'ix_created', rowsDeleted: expected, rowsRemaining: 0 });
  });

  it('purges a CHAR(40)-key table with random dates, the same with either walk', async () => {
    for (const walk of ['auto', 'date-index', 'primary-key'] as const) {
      await charTable('sessions', 6000);
      const old = await count(`SELECT COUNT(*) n FROM ${S}.sessions WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
      expect(old).toBeGreaterThan(2000);
      const res = await run(rule(S, 'sessions', { walk }), { settings: { initialChunkRows: 500, maxChunkRows: 1000 } });
      expect(res, walk).toMatchObject({ status: 'completed', rowsDeleted: old, rowsRemaining: 0 });
      if (walk !== 'auto') expect(res.walk).toBe(walk);
      expect(await count(`SELECT COUNT(*) n FROM ${S}.sessions`)).toBe(6000 - old);
    }
  });

  it('handles a composite key and extra criteria', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.notifications`);
    await admin.query(`CREATE TABLE ${S}.notifications (
        tenant_id INT NOT NULL, id INT NOT NULL, is_read TINYINT NOT NULL, kind VARCHAR(10) NOT NULL, created_at DATETIME NOT NULL,
        PRIMARY KEY (tenant_id, id), KEY ix_created (created_at)) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO ${S}.notifications SELECT seq % 7, seq, seq % 2, ELT(1 + seq % 3, 'a', 'b', 'c'),
                       UTC_TIMESTAMP() - INTERVAL IF(seq % 3 = 0, 1, 90) DAY FROM seq_1_to_9000`);
    const where = [
      { column: 'is_read', op: '=' as const, value: 1 },
      { column: 'kind', op: 'IN' as const, value: ['a', 'b'] },
    ];
    const expected = await count(`SELECT COUNT(*) n FROM ${S}.notifications WHERE created_at < UTC_TIMESTAMP() - INTERVAL 60 DAY AND is_read = 1 AND kind IN ('a','b')`);
    const dry = await run(rule(S, 'notifications', { retentionDays: 60, where }), { dryRun: true });
    expect(dry.wouldRemove).toBe(expected);
    for (const walk of ['primary-key', 'date-index'] as const) {
      const res = await run(rule(S, 'notifications', { retentionDays: 60, where, walk }), { settings: { initialChunkRows: 700, maxChunkRows: 700 } });
      expect(res).toMatchObject({ status: 'completed', rowsRemaining: 0 });
      if (walk === 'primary-key') expect(res.rowsDeleted).toBe(expected);
      else expect(res.rowsDeleted).toBe(0);
    }
    expect(await count(`SELECT COUNT(*) n FROM ${S}.notifications`)).toBe(9000 - expected);
    // Unread and kind c rows older than the cutoff are kept.
    expect(await count(`SELECT COUNT(*) n FROM ${S}.notifications WHERE created_at < UTC_TIMESTAMP() - INTERVAL 60 DAY AND (is_read = 0 OR kind = 'c')`)).toBeGreaterThan(0);
  });

  it('keeps the cutoff fixed at the start of the run', async () => {
    await intTable('cutoff', 1000);
    // The run "started" an hour ago: rows that crossed the 30-day line since then stay.
    const startedAt = new Date(Date.now() - 3_600_000);
    await admin.query(`UPDATE ${S}.cutoff SET created_at = UTC_TIMESTAMP() - INTERVAL 30 DAY - INTERVAL 30 MINUTE WHERE id <= 10`);
    const res = await run(rule(S, 'cutoff'), { now: startedAt });
    expect(res.cutoff).toBe(new Date(startedAt.getTime() - 30 * 86_400_000).toISOString());
    expect(await count(`SELECT COUNT(*) n FROM ${S}.cutoff WHERE id <= 10`)).toBe(10);
    expect(res.rowsDeleted).toBe(490);
  });
});

describe('archive', () => {
  it('moves rows into a created archive table with archived_at, nothing lost or doubled', async () => {
    await intTable('admin_log', 5000, false);
    const old = await count(`SELECT COUNT(*) n FROM ${S}.admin_log WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
    const res = await run(rule(S, 'admin_log', { action: 'archive', archiveSchema: `${S}_arch`, createArchiveSchema: true }), { settings: { initialChunkRows: 400, maxChunkRows: 400 } });
    expect(res).toMatchObject({ status: 'completed', rowsArchived: old, rowsDeleted: 0, archiveTableCreated: true, rowsRemaining: 0 });
    expect(await count(`SELECT COUNT(*) n FROM ${S}_arch.admin_log_archive`)).toBe(old);
    expect(await count(`SELECT COUNT(*) n FROM ${S}_arch.admin_log_archive WHERE archived_at IS NULL`)).toBe(0);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.admin_log`)).toBe(5000 - old);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.admin_log a JOIN ${S}_arch.admin_log_archive b USING (id)`)).toBe(0);
  });

  it('loses and doubles nothing when the connection is killed between INSERT and DELETE; the next run finishes', async () => {
    await intTable('orders', 4000, false);
    const old = await count(`SELECT COUNT(*) n FROM ${S}.orders WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
    const db = await session();
    const r = rule(S, 'orders', { action: 'archive' });
    let holder: number | undefined;
    const err = await run(r, {
      db,
      settings: { initialChunkRows: 300, maxChunkRows: 300 },
      faults: {
        betweenInsertAndDelete: async (chunk) => {
          if (chunk !== 3) return;
          // As docs/retention.md's "Stopping a running purge now" tells an operator: the walk's connection holds the table's lock.
          holder = await count(`SELECT IS_USED_LOCK(CONCAT('dbmaint:purge:', ?)) n`, [`${S}.orders`]);
          await admin.query(`KILL ${holder}`);
        },
      },
    }).catch((e: unknown) => e);
    expect(holder).toBe(db.threadId);
    await db.close();
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/closed|lost|killed|interrupted|ended/i);
    const src = await count(`SELECT COUNT(*) n FROM ${S}.orders`);
    const arch = await count(`SELECT COUNT(*) n FROM ${S}.orders_archive`);
    expect(src + arch).toBe(4000);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.orders a JOIN ${S}.orders_archive b USING (id)`)).toBe(0);
    expect(arch).toBeGreaterThan(0); // the first two chunks were committed
    expect(arch).toBeLessThan(old);

    const next = await run(r);
    expect(next).toMatchObject({ status: 'completed', rowsArchived: old - arch, rowsRemaining: 0 });
    expect(await count(`SELECT COUNT(*) n FROM ${S}.orders_archive`)).toBe(old);
    expect(await count(`SELECT COUNT(DISTINCT id) n FROM ${S}.orders_archive`)).toBe(old);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.orders`)).toBe(4000 - old);
  });

  it('quotes hostile column names read from the table', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.hostile, ${S}.hostile_archive`);
    await admin.query(`CREATE TABLE ${S}.hostile (id INT PRIMARY KEY, \`we\`\`ird; DROP TABLE x; --\` INT, \`tëst"col\` VARCHAR(5), created_at DATETIME NOT NULL, KEY (created_at))`);
    await admin.query(`INSERT INTO ${S}.hostile SELECT seq, seq, 'x', UTC_TIMESTAMP() - INTERVAL seq DAY FROM seq_1_to_100`);
    const res = await run(rule(S, 'hostile', { action: 'archive' }));
    expect(res).toMatchObject({ status: 'completed', rowsArchived: 71 }); // rows 30..100 days old
    expect(await count(`SELECT SUM(\`we\`\`ird; DROP TABLE x; --\`) n FROM ${S}.hostile_archive`)).toBe(((30 + 100) * 71) / 2);
  });
});

describe('review regressions', () => {
  it('copies columns with a DEFAULT expression and recomputes generated columns', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.gen, ${S}.gen_archive`);
    await admin.query(`CREATE TABLE ${S}.gen (id INT PRIMARY KEY, created_at DATETIME NOT NULL, stamped DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
        doubled INT AS (id * 2) VIRTUAL, KEY (created_at))`);
    await admin.query(`INSERT INTO ${S}.gen (id, created_at, stamped) SELECT seq, UTC_TIMESTAMP() - INTERVAL 60 DAY, '2001-02-03 04:05:06' FROM seq_1_to_50`);
    const res = await run(rule(S, 'gen', { action: 'archive' }));
    expect(res).toMatchObject({ status: 'completed', rowsArchived: 50 });
    expect(await count(`SELECT COUNT(*) n FROM ${S}.gen_archive WHERE stamped = '2001-02-03 04:05:06' AND doubled = id * 2`)).toBe(50);
  });

  it('walks past many rows sharing one microsecond timestamp (bounds keep microseconds)', async () => {
    for (const walk of ['date-index', 'primary-key'] as const) {
      await admin.query(`DROP TABLE IF EXISTS ${S}.micro`);
      await admin.query(`CREATE TABLE ${S}.micro (id INT PRIMARY KEY, created_at DATETIME(6) NOT NULL, KEY (created_at))`);
      await admin.query(`INSERT INTO ${S}.micro SELECT seq, '2020-01-01 10:00:00.123456' + INTERVAL (seq DIV 1500) MICROSECOND FROM seq_1_to_3000`);
      const res = await run(rule(S, 'micro', { walk }), { settings: { initialChunkRows: 500, minChunkRows: 500, maxChunkRows: 500 } });
      expect(res, walk).toMatchObject({ status: 'completed', rowsDeleted: 3000, walk });
      expect(res.chunks).toBeLessThanOrEqual(7);
      expect(await count(`SELECT COUNT(*) n FROM ${S}.micro`)).toBe(0);
    }
  });

  it('with a date-led key, visits only the rows below the cutoff', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.dateled`);
    await admin.query(`CREATE TABLE ${S}.dateled (created_at DATETIME(6) NOT NULL, id INT NOT NULL, PRIMARY KEY (created_at, id))`);
    await admin.query(`INSERT INTO ${S}.dateled SELECT UTC_TIMESTAMP(6) - INTERVAL IF(seq <= 200, 40, 1) DAY + INTERVAL seq MICROSECOND, seq FROM seq_1_to_5200`);
    const res = await run(rule(S, 'dateled'), { settings: { initialChunkRows: 100, minChunkRows: 100, maxChunkRows: 100 } });
    expect(res).toMatchObject({ status: 'completed', rowsDeleted: 200, walk: 'primary-key' });
    expect(res.chunks).toBeLessThanOrEqual(3); // 200 old rows in chunks of 100, not 52 chunks over the whole table
    expect(await count(`SELECT COUNT(*) n FROM ${S}.dateled`)).toBe(5000);
  });

  it('never compares NULLs: an index with a nullable second column still walks every row', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.nullable_ix`);
    await admin.query(`CREATE TABLE ${S}.nullable_ix (id INT PRIMARY KEY, created_at DATETIME NOT NULL, status VARCHAR(5) NULL, KEY ix (created_at, status))`);
    await admin.query(`INSERT INTO ${S}.nullable_ix SELECT seq, '2020-01-01' + INTERVAL (seq DIV 1000) SECOND, IF(seq % 3 = 0, 'x', NULL) FROM seq_1_to_3000`);
    const res = await run(rule(S, 'nullable_ix', { walk: 'date-index' }), { settings: { initialChunkRows: 250, minChunkRows: 250, maxChunkRows: 250 } });
    expect(res).toMatchObject({ status: 'completed', rowsDeleted: 3000, walk: 'date-index', index: 'ix' });
    expect(await count(`SELECT COUNT(*) n FROM ${S}.nullable_ix`)).toBe(0);
  });

  it('refuses an existing archive table that lacks columns, in dry runs too, without touching the source', async () => {
    await intTable('badarch', 100);
    await admin.query(`CREATE TABLE ${S}.badarch_archive (id BIGINT PRIMARY KEY, archived_at DATETIME(6))`);
    const dry = await run(rule(S, 'badarch', { action: 'archive' }), { dryRun: true });
    expect(dry).toMatchObject({ status: 'refused', message: expect.stringMatching(/badarch_archive lacks column\(s\) user_id, created_at, payload/) });
    const real = await run(rule(S, 'badarch', { action: 'archive' }));
    expect(real.status).toBe('refused');
    expect(await count(`SELECT COUNT(*) n FROM ${S}.badarch`)).toBe(100);
  });
});

describe('boundary reads on a second session', () => {
  it('reads the next boundary while a chunk runs and removes exactly what the walk without it removes', async () => {
    await intTable('pf_int', 20_000, false);
    await intTable('pf_int_b', 20_000, false);
    await charTable('pf_char', 6000);
    await charTable('pf_char_b', 6000);
    // One session walking: the reader only reads boundaries (two chunks at a time: test/retention-walkers.test.ts).
    // Fixed 300-row chunks: how many boundaries the reader guesses right must not depend on how fast chunks run.
    const settings = { initialChunkRows: 300, minChunkRows: 300, maxChunkRows: 300, idleWalkers: 1 };
    for (const [table, twin] of [['pf_int', 'pf_int_b'], ['pf_char', 'pf_char_b']] as const) {
      const old = await count(`SELECT COUNT(*) n FROM ${S}.${table} WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
      const young = await count(`SELECT COUNT(*) n FROM ${S}.${table}`) - old;
      const log = recordingLog();
      const now = new Date();
      const withReader = await run(rule(S, table), { settings, log, now });
      const without = await run(rule(S, twin), { settings, now, reader: null });
      expect(withReader).toMatchObject({ status: 'completed', rowsDeleted: old, rowsRemaining: 0 });
      expect(without).toMatchObject({ status: 'completed', rowsDeleted: old, rowsRemaining: 0 });
      expect(await count(`SELECT COUNT(*) n FROM ${S}.${table}`)).toBe(young);
      expect(await count(`SELECT COUNT(*) n FROM ${S}.${table} WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`)).toBe(0);
      // Every chunk but the first took the boundary read ahead of it.
      const pf = log.lines.find((e) => e.message === 'boundary prefetch');
      expect(pf?.fields).toMatchObject({ used: withReader.chunks - 1, readAgain: 0 });
      expect(log.lines.filter((e) => e.level === 'warn')).toEqual([]);
    }
  });

  it('leaves the reader without a transaction, and finishes on its own session when the reader dies mid-walk', async () => {
    await intTable('pf_kill', 8000, false);
    const old = await count(`SELECT COUNT(*) n FROM ${S}.pf_kill WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
    const reader = await session();
    const log = recordingLog();
    const res = await run(rule(S, 'pf_kill', { action: 'archive' }), {
      reader,
      log,
      // One session walking: the reader only reads boundaries (two chunks at a time: test/retention-walkers.test.ts).
      settings: { initialChunkRows: 300, maxChunkRows: 300, idleWalkers: 1 },
      faults: {
        betweenInsertAndDelete: async (chunk) => {
          if (chunk === 2) {
            // While chunk 2 runs the reader holds no transaction open (no read view that would hold back purge).
            expect(await count('SELECT COUNT(*) n FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?', [reader.threadId])).toBe(0);
          }
          if (chunk === 3) await admin.query(`KILL ${reader.threadId}`);
        },
      },
    });
    await reader.close();
    expect(res).toMatchObject({ status: 'completed', rowsArchived: old, rowsRemaining: 0 });
    expect(log.lines.some((e) => e.level === 'warn' && e.message.startsWith('boundary reader failed'))).toBe(true);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.pf_kill`) + (await count(`SELECT COUNT(*) n FROM ${S}.pf_kill_archive`))).toBe(8000);
    expect(await count(`SELECT COUNT(DISTINCT id) n FROM ${S}.pf_kill_archive`)).toBe(old);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.pf_kill WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`)).toBe(0);
  });
});

describe('chunks bounded in bytes', () => {
  it('sizes the first chunk and caps every chunk by purge.maxChunkBytes on a table of 1 MB rows; the dry run says the same', async () => {
    const ROW = 1_000_000;
    await admin.query(`DROP TABLE IF EXISTS ${S}.blobs`);
    await admin.query(`CREATE TABLE ${S}.blobs (id INT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL, body LONGBLOB NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
    // Right after the insert InnoDB's statistics are far too low (its DATA_LENGTH counts a fraction of the BLOB pages yet).
    await admin.query(`INSERT INTO ${S}.blobs (created_at, body) SELECT UTC_TIMESTAMP() - INTERVAL IF(seq <= 36, 40, 1) DAY, REPEAT('b', ${ROW}) FROM seq_1_to_48`);
    const now = new Date();
    const dry = await run(rule(S, 'blobs'), { dryRun: true, now });
    const res = await run(rule(S, 'blobs'), { now });
    expect(res).toMatchObject({ status: 'completed', rowsDeleted: 36, rowsRemaining: 0 });
    const max = 16 * 1024 * 1024; // the default of purge.maxChunkBytes
    const [chunks] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT JSON_VALUE(extra, '$.chunkRows') AS chunkRows FROM ${S}_log.command_log WHERE command_type = 'PURGE-CHUNK' AND table_name = 'blobs'`,
    );
    expect(chunks.length).toBe(res.chunks);
    for (const c of chunks) expect(Number(c['chunkRows']) * ROW).toBeLessThanOrEqual(max);
    expect(SETTINGS.maxChunkBytes).toBe(max);
    const cap = Math.floor(max / ROW);
    expect(res.chunkSizing).toMatchObject({ firstChunkRows: cap, maxChunkRows: cap });
    expect(res.chunkSizing!.reason).toMatch(/^first chunk 16 rows, not purge\.initialChunkRows 5,000: ~\d+(\.\d)? KiB a row .*purge\.maxChunkBytes 16\.0 MiB allows 16 rows a chunk/);
    expect(dry.chunkSizing).toEqual(res.chunkSizing);
  });
});

describe('guards', () => {
  it('stops cleanly at the deadline, reports what is left, and the next run completes', async () => {
    await intTable('deadline', 6000, false);
    const old = await count(`SELECT COUNT(*) n FROM ${S}.deadline WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
    // One check before the walk is chosen, then one per chunk: the fifth check finds too little time.
    const first = await run(rule(S, 'deadline'), { deadline: new CountingDeadline(4), settings: { initialChunkRows: 500, maxChunkRows: 500 } });
    expect(first).toMatchObject({ status: 'stopped-at-deadline', chunks: 3 });
    expect(first.rowsDeleted).toBeGreaterThan(0);
    expect(first.rowsRemaining).toBe(old - first.rowsDeleted);
    const second = await run(rule(S, 'deadline'));
    expect(second).toMatchObject({ status: 'completed', rowsDeleted: old - first.rowsDeleted, rowsRemaining: 0 });
  });

  it('skips with "already running" while another run holds the table', async () => {
    await intTable('locked', 100);
    const other = await adminConnection();
    await other.query('SELECT GET_LOCK(?, 0)', [lockName(S, 'locked')]);
    const res = await run(rule(S, 'locked'));
    expect(res).toMatchObject({ status: 'already-running', rowsDeleted: 0 });
    expect(res.message).toMatch(/another dbmaint run holds the lock/);
    await other.end();
    expect((await run(rule(S, 'locked'))).status).toBe('completed');
  });

  it('names the lock of a long table name as docs/retention.md tells operators to find it, in SQL', async () => {
    const [schema, table] = ['s'.repeat(40), 't'.repeat(40)];
    const [[row]] = await admin.query<mysql.RowDataPacket[]>(`SELECT CONCAT('dbmaint:purge:', SHA1(?)) AS v`, [`${schema}.${table}`]);
    expect(lockName(schema, table)).toBe(row!['v']);
    expect(lockName(S, 'orders')).toBe(`dbmaint:purge:${S}.orders`);
  });

  it('two concurrent runs: one works, the other skips', async () => {
    await intTable('concurrent', 20_000);
    const [a, b] = await Promise.all([
      run(rule(S, 'concurrent'), { settings: { initialChunkRows: 200, maxChunkRows: 200 } }),
      run(rule(S, 'concurrent'), { settings: { initialChunkRows: 200, maxChunkRows: 200 } }),
    ]);
    expect([a.status, b.status].sort()).toEqual(['already-running', 'completed']);
    expect(a.rowsDeleted + b.rowsDeleted).toBe(10_000);
  });

  it('refuses a table without a key and a date column without an index, unless allowFullScan', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.nokey, ${S}.noindex`);
    await admin.query(`CREATE TABLE ${S}.nokey (v INT, created_at DATETIME, KEY (created_at))`);
    await admin.query(`CREATE TABLE ${S}.noindex (id INT PRIMARY KEY, created_at DATETIME NOT NULL)`);
    await admin.query(`INSERT INTO ${S}.noindex SELECT seq, UTC_TIMESTAMP() - INTERVAL seq DAY FROM seq_1_to_50`);
    expect(await run(rule(S, 'nokey'))).toMatchObject({ status: 'refused', message: expect.stringMatching(/no primary key or NOT NULL unique key/) });
    const refused = await run(rule(S, 'noindex'));
    expect(refused).toMatchObject({ status: 'refused', message: expect.stringMatching(/no index starts with created_at.*ADD INDEX/) });
    expect(await count(`SELECT COUNT(*) n FROM ${S}.noindex`)).toBe(50);
    const allowed = await run(rule(S, 'noindex', { allowFullScan: true }));
    expect(allowed).toMatchObject({ status: 'completed', rowsDeleted: 21 });
    expect(await run(rule(S, 'missing'))).toMatchObject({ status: 'refused', message: `table ${S}.missing does not exist` });
  });

  it('leaves its session with autocommit on and every run-log row committed, however the walk ends', async () => {
    // Chunks run with autocommit off (no START TRANSACTION per chunk); later tasks on the same session must not inherit that.
    await admin.query(`DROP TABLE IF EXISTS ${S}.ac_child, ${S}.ac_parent`);
    await admin.query(`CREATE TABLE ${S}.ac_parent (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY (created_at)) ENGINE=InnoDB`);
    await admin.query(`CREATE TABLE ${S}.ac_child (id INT PRIMARY KEY, parent_id INT, FOREIGN KEY (parent_id) REFERENCES ${S}.ac_parent (id)) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO ${S}.ac_parent SELECT seq, UTC_TIMESTAMP() - INTERVAL 90 DAY FROM seq_1_to_300`);
    await admin.query(`INSERT INTO ${S}.ac_child VALUES (1, 250)`);
    await intTable('ac_deadline', 3000, false);
    const db = await session();
    try {
      const autocommit = async () => Number((await db.query<{ a: number }>('SELECT @@autocommit AS a'))[0]!.a);
      // One session walking, so that the chunk counts are exact (two at a time: tested below).
      const fixed = { initialChunkRows: 100, minChunkRows: 100, maxChunkRows: 100, idleWalkers: 1 };
      const failed = await run(rule(S, 'ac_parent'), { db, settings: fixed });
      expect(failed).toMatchObject({ status: 'failed', chunks: 2, rowsDeleted: 200 });
      expect(await autocommit()).toBe(1);
      // Seen from another connection: the two chunks and the failure's row are committed, the failed chunk is not.
      expect(await count(`SELECT COUNT(*) n FROM ${S}.ac_parent`)).toBe(100);
      const logged = `SELECT COUNT(*) n FROM ${S}_log.command_log WHERE table_name = 'ac_parent' AND error_number`;
      expect(await count(`${logged} IS NULL`)).toBe(2);
      expect(await count(`${logged} = 1451`)).toBe(1);

      const stopped = await run(rule(S, 'ac_deadline'), { db, deadline: new CountingDeadline(3), settings: fixed });
      expect(stopped).toMatchObject({ status: 'stopped-at-deadline', chunks: 2 });
      expect(await autocommit()).toBe(1);
      await admin.query(`DELETE FROM ${S}.ac_child`);
      expect(await run(rule(S, 'ac_parent'), { db })).toMatchObject({ status: 'completed', rowsDeleted: 100 });
      expect(await autocommit()).toBe(1);
      // A write after the runs commits on its own, as the task-run record written after cleanup does.
      await db.exec(`INSERT INTO ${S}.ac_child VALUES (2, NULL)`);
      expect(await count(`SELECT COUNT(*) n FROM ${S}.ac_child`)).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('reports child tables; a RESTRICT child fails the chunk without retries; archive refuses CASCADE children', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.child_r, ${S}.child_c, ${S}.parent`);
    await admin.query(`CREATE TABLE ${S}.parent (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY (created_at)) ENGINE=InnoDB`);
    await admin.query(`CREATE TABLE ${S}.child_r (id INT PRIMARY KEY, parent_id INT, FOREIGN KEY fk_r (parent_id) REFERENCES ${S}.parent (id) ON DELETE RESTRICT) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO ${S}.parent SELECT seq, UTC_TIMESTAMP() - INTERVAL 90 DAY FROM seq_1_to_100`);
    await admin.query(`INSERT INTO ${S}.child_r VALUES (1, 50)`);
    const dry = await run(rule(S, 'parent'), { dryRun: true });
    expect(dry.childTables).toEqual([expect.objectContaining({ table: 'child_r', deleteRule: 'RESTRICT' })]);
    const res = await run(rule(S, 'parent'), { settings: { initialChunkRows: 1000 } });
    expect(res).toMatchObject({ status: 'failed', retries: 0 });
    expect(res.message).toMatch(/refused by a foreign key.*Not retried/);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.parent`)).toBe(100);

    await admin.query(`DROP TABLE ${S}.child_r`);
    await admin.query(`CREATE TABLE ${S}.child_c (id INT PRIMARY KEY, parent_id INT, FOREIGN KEY fk_c (parent_id) REFERENCES ${S}.parent (id) ON DELETE CASCADE) ENGINE=InnoDB`);
    const arch = await run(rule(S, 'parent', { action: 'archive' }));
    expect(arch).toMatchObject({ status: 'refused', message: expect.stringMatching(/child_c \(fk_c, ON DELETE CASCADE\)/) });
  });
});
