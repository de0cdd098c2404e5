// The server advisor on servers of its own: one deliberately misconfigured (a buffer pool far smaller than its data, tiny temporary tables), one well configured, the same workload run between the two status samples.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalMariaDb, type LocalMariaDb } from '../dev/mariadb-server';
import { openSession } from '../lib/db/connection';
import { credentialsFromUrl } from '../lib/db/credentials';
import { generateRecommendations } from '../lib/recommend/generate';
import { recommendOptions } from './support/recommend-options';
import type { Recommendation } from '../lib/recommend/types';
import { testConfig } from './support/db';
import { parseServerVersion } from '../lib/db/flavour';
import { endOfLife } from '../lib/recommend/checks/server-version';
import { logBufferWaits, redoCapacity } from '../lib/recommend/checks/advisor';

const S = 'advisor_t';
const ROWS = 120_000;
let bad: LocalMariaDb;
let good: LocalMariaDb;

async function load(url: string): Promise<void> {
  const c = credentialsFromUrl(url);
  const admin = await mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password, multipleStatements: true });
  await admin.query(`CREATE DATABASE ${S}; USE ${S};
    CREATE TABLE w (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(250) NOT NULL) ENGINE=InnoDB;
    CREATE TABLE big (id INT PRIMARY KEY, grp INT NOT NULL, note VARCHAR(200) NOT NULL, pad CHAR(255) NOT NULL) ENGINE=InnoDB;
    INSERT INTO big SELECT seq, seq % 5000, REPEAT(CHAR(65 + seq % 26), 150), REPEAT('x', 255) FROM seq_1_to_${ROWS};
    ANALYZE TABLE big;
    ${Array.from({ length: 60 }, (_, i) => `CREATE TABLE small${i} (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO small${i} VALUES (1);`).join('\n')}`);
  await admin.end();
}

/** Point reads spread over the whole table, and GROUP BYs whose implicit temporary tables hold 5,000 groups of text. */
async function workload(url: string): Promise<void> {
  const c = credentialsFromUrl(url);
  const conn = await mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password, database: S });
  for (let i = 0; i < 3000; i++) await conn.query('SELECT pad FROM big WHERE id = ?', [1 + ((i * 7919) % ROWS)]);
  for (let i = 0; i < 30; i++) await conn.query('SELECT grp, MAX(note) AS n, COUNT(*) FROM big WHERE id > ? GROUP BY grp', [i]);
  // Sixty tables through a table cache of ten, twice.
  for (let round = 0; round < 2; round++) for (let i = 0; i < 60; i++) await conn.query(`SELECT id FROM small${i}`);
  // Sorts of about 750 KB: over a 32 KB sort buffer, under the default 2 MB.
  for (let i = 0; i < 15; i++) await conn.query('SELECT id FROM big WHERE id <= 5000 ORDER BY note, id DESC LIMIT 1 OFFSET 4000');
  // About 3 MB of redo: three quarters of a 4 MB log, written in however long the machine takes (under a minute).
  await conn.query('INSERT INTO w (pad) SELECT REPEAT(CHAR(65 + seq % 26), 250) FROM seq_1_to_10000');
  await conn.end();
  // Thirty short connections, one after another.
  for (let i = 0; i < 30; i++) {
    const x = await mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password });
    await x.end();
  }
}

const ADVISOR = ['BUFFER_POOL_TOO_SMALL', 'REDO_LOG_TOO_SMALL', 'LOG_BUFFER_WAITS', 'TMP_TABLES_TO_DISK', 'TABLE_CACHE_MISSES', 'THREAD_CACHE_MISSES', 'SORT_MERGE_PASSES', 'LONG_TRANSACTION', 'BINLOG_FORMAT', 'VERSION_END_OF_LIFE'];

async function advise(url: string, settings: Record<string, number> = {}): Promise<Recommendation[]> {
  const cfg = testConfig([S], { recommendations: { advisorSampleSeconds: 0.5, redoLogMinutes: 1, ...settings } });
  const db = await openSession(credentialsFromUrl(url), { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 }, 'disabled');
  try {
    const opts = recommendOptions(S, cfg, { advisor: { sampleSeconds: 0.5, betweenSamples: () => workload(url) } });
    return (await generateRecommendations(db, opts)).items.filter((i) => ADVISOR.includes(i.code));
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  // 8 MB of buffer pool for ~60 MB of data; in-memory temporary tables capped at 16 KB.
  bad = await startLocalMariaDb({ bufferPoolMb: 8, extraArgs: ['--tmp-table-size=16384', '--max-heap-table-size=16384', '--innodb-buffer-pool-chunk-size=1048576', '--table-open-cache=10', '--thread-cache-size=0', '--sort-buffer-size=32768', '--log-bin', '--binlog-format=STATEMENT', '--innodb-log-file-size=4M'] });
  // A redo log of 512 MB holds a minute of this test's writes however fast the machine runs them (3 MB in at least the 0.5 s interval).
  good = await startLocalMariaDb({ bufferPoolMb: 256, extraArgs: ['--innodb-log-file-size=512M'] });
  await Promise.all([load(bad.url), load(good.url)]);
}, 180_000);
afterAll(async () => {
  await bad?.stop();
  await good?.stop();
});

describe('server advisor', () => {
  it('finds the small buffer pool and the disk temporary tables, with the evidence of the interval and a fix naming the variable', async () => {
    const items = await advise(bad.url);
    const pool = items.find((i) => i.code === 'BUFFER_POOL_TOO_SMALL');
    expect(pool, JSON.stringify(items)).toBeDefined();
    expect(pool!.evidence).toMatchObject({ bufferPoolBytes: 8 * 1024 * 1024, restartNeeded: false, dirtyPages: expect.any(Number), freePages: expect.any(Number) });
    expect(Number(pool!.evidence['dataAndIndexBytes'])).toBeGreaterThan(30 * 1024 * 1024);
    expect(Number(pool!.evidence['readRequests'])).toBeGreaterThanOrEqual(3000);
    expect(Number(pool!.evidence['missPercent'])).toBeGreaterThan(1);
    expect(Number(pool!.evidence['intervalSeconds'])).toBeGreaterThan(0);
    expect(pool!.fix).toMatch(/^SET GLOBAL innodb_buffer_pool_size = \d+; .* DB parameter group/);
    const tmp = items.find((i) => i.code === 'TMP_TABLES_TO_DISK');
    expect(tmp, JSON.stringify(items)).toBeDefined();
    expect(tmp!.evidence).toMatchObject({ tmpTableSize: 16384, maxHeapTableSize: 16384 });
    expect(Number(tmp!.evidence['diskTmpTables'])).toBeGreaterThanOrEqual(25);
    expect(tmp!.fix).toMatch(/^SET GLOBAL tmp_table_size = \d+, max_heap_table_size = \d+;/);
    const cache = items.find((i) => i.code === 'TABLE_CACHE_MISSES');
    expect(cache, JSON.stringify(items)).toBeDefined();
    expect(cache!.evidence).toMatchObject({ tableOpenCache: 10 });
    expect(Number(cache!.evidence['openedTables'])).toBeGreaterThanOrEqual(60);
    expect(cache!.fix).toMatch(/^SET GLOBAL table_open_cache = 400/);
    const threads = items.find((i) => i.code === 'THREAD_CACHE_MISSES');
    expect(threads, JSON.stringify(items)).toMatchObject({ evidence: { threadCacheSize: 0 }, fix: expect.stringMatching(/^SET GLOBAL thread_cache_size = 16;/) });
    expect(Number(threads!.evidence['connections'])).toBeGreaterThanOrEqual(30);
    expect(items.find((i) => i.code === 'BINLOG_FORMAT')).toMatchObject({ evidence: { binlogFormat: 'STATEMENT' }, fix: "SET GLOBAL binlog_format = 'ROW'; — RDS: binlog_format = ROW in the DB parameter group" });
    // MariaDB 10.11 is supported until 2028: no end-of-life item today.
    expect(items.find((i) => i.code === 'VERSION_END_OF_LIFE')).toBeUndefined();
    const redo = items.find((i) => i.code === 'REDO_LOG_TOO_SMALL');
    expect(redo, JSON.stringify(items)).toMatchObject({ evidence: { redoCapacityBytes: 4 * 1024 * 1024, variable: 'innodb_log_file_size', targetMinutes: 1, restartNeeded: false } });
    expect(Number(redo!.evidence['logBytesWritten'])).toBeGreaterThan(2 * 1024 * 1024);
    expect(Number(redo!.evidence['holdsMinutes'])).toBeLessThan(1);
    expect(redo!.fix).toMatch(/^SET GLOBAL innodb_log_file_size = \d+; .*MariaDB 10\.9/);
    const sorts = items.find((i) => i.code === 'SORT_MERGE_PASSES');
    expect(sorts, JSON.stringify(items)).toMatchObject({ evidence: { sortBufferSize: 32768 }, fix: expect.stringMatching(/^SET GLOBAL sort_buffer_size = 2097152;/) });
  }, 120_000);

  it('names a long-open transaction: its connection, user, age, idle in transaction, and that it stalls purge', async () => {
    const c = credentialsFromUrl(bad.url);
    const holder = await mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password, database: S });
    try {
      const [[me]] = (await holder.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
      await holder.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
      await holder.query('SELECT COUNT(*) FROM small0');
      // Its age only grows: wait past the one-second threshold set here.
      await new Promise((r) => setTimeout(r, 2100));
      const items = (await advise(bad.url, { longTransactionSeconds: 1 })).filter((i) => i.code === 'LONG_TRANSACTION');
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({ object: `connection ${me.id}`, evidence: { connectionId: Number(me.id), idleInTransaction: true, user: c.user } });
      expect(Number(items[0]!.evidence['seconds'])).toBeGreaterThanOrEqual(2);
      expect(items[0]!.message).toMatch(/idle in transaction; until it ends InnoDB cannot purge/);
      expect(items[0]!.fix).toContain(`KILL ${me.id}`);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  }, 60_000);

  it('finds neither on a well-configured server under the same workload', async () => {
    expect(await advise(good.url)).toEqual([]);
  }, 120_000);
});

describe('log buffer waits', () => {
  // Whether a session waits for the log buffer depends on when InnoDB's writer flushes it: judged here on given counters.
  it('names innodb_log_buffer_size with the restart MariaDB needs and the SET PERSIST MySQL 8 takes; nothing without waits', () => {
    expect(logBufferWaits('mariadb', 2 * 1024 * 1024, 0, 5)).toBeUndefined();
    expect(logBufferWaits('mariadb', 2 * 1024 * 1024, 3, 5)).toMatchObject({ code: 'LOG_BUFFER_WAITS', evidence: { logWaits: 3, logBufferSize: 2097152, restartNeeded: true }, fix: expect.stringMatching(/^innodb_log_buffer_size = 67108864 under \[mysqld\].*\(static\)$/) });
    expect(logBufferWaits('mysql', 32 * 1024 * 1024, 1, 5)).toMatchObject({ evidence: { restartNeeded: false }, fix: expect.stringMatching(/^SET PERSIST innodb_log_buffer_size = 134217728;/) });
  });
});

describe('redo capacity', () => {
  it('reads innodb_redo_log_capacity from MySQL 8.0.30, files × size before it, one resizable file on MariaDB 10.9+', () => {
    const vars = new Map([['innodb_log_file_size', 48 * 1024 * 1024], ['innodb_log_files_in_group', 2], ['innodb_redo_log_capacity', 100 * 1024 * 1024]]);
    expect(redoCapacity('mysql', parseServerVersion('8.0.35'), vars)).toEqual({ bytes: 100 * 1024 * 1024, variable: 'innodb_redo_log_capacity', dynamic: true });
    expect(redoCapacity('mysql', parseServerVersion('8.0.28'), vars)).toEqual({ bytes: 96 * 1024 * 1024, variable: 'innodb_log_file_size', dynamic: false });
    expect(redoCapacity('mariadb', parseServerVersion('10.11.19-MariaDB'), vars)).toEqual({ bytes: 48 * 1024 * 1024, variable: 'innodb_log_file_size', dynamic: true });
    expect(redoCapacity('mariadb', parseServerVersion('10.6.18-MariaDB'), vars).dynamic).toBe(false);
  });
});

describe('end of life', () => {
  it('is past for MySQL 8.0 and MariaDB 10.6 in December 2026, ahead for 8.4 and 10.11, unknown for Aurora and unlisted series', () => {
    const at = new Date('2026-12-03T00:00:00Z');
    expect(endOfLife(parseServerVersion('8.0.39'), at)).toEqual({ series: '8.0', eol: '2026-04-30', passed: true });
    expect(endOfLife(parseServerVersion('10.6.18-MariaDB'), at)).toEqual({ series: '10.6', eol: '2026-07-06', passed: true });
    expect(endOfLife(parseServerVersion('8.4.3'), at)?.passed).toBe(false);
    expect(endOfLife(parseServerVersion('10.11.19-MariaDB-0+deb12u1'), at)?.passed).toBe(false);
    expect(endOfLife(parseServerVersion('8.0.32', '', '3.05.2'), at)).toBeUndefined();
    expect(endOfLife(parseServerVersion('9.1.0'), at)).toBeUndefined();
  });
});
