// analyze-tables behind a long query, on a MariaDB of its own: where ANALYZE flushes the table (MySQL before 8.0.24) a table a running statement reads is skipped with the reason — found by metadata lock (METADATA_LOCK_INFO) or by statement text — and the versions the guard applies to.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalMariaDb, type LocalMariaDb } from '../dev/mariadb-server';
import { openSession, type DbSession } from '../lib/db/connection';
import { credentialsFromUrl } from '../lib/db/credentials';
import { analyzeFlushesTable, parseServerVersion } from '../lib/db/flavour';
import { analyzeTables, namesTable, type AnalyzeOptions, type AnalyzeResult } from '../lib/maintenance/analyze';
import { RunLog } from '../lib/runlog/command-log';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';

const S = 'guard_t';
let server: LocalMariaDb;
let admin: mysql.Connection;
let db: DbSession;

const connect = () => {
  const c = credentialsFromUrl(server.url);
  return mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password, database: S });
};

async function analyze(opts: Partial<AnalyzeOptions>): Promise<AnalyzeResult> {
  const runLog = new RunLog(db, { enabled: true, schema: `${S}_log`, table: 'command_log' }, { task: 'analyze-tables', target: 'test', dryRun: opts.dryRun ?? false }, silentLog);
  await runLog.prepare();
  return analyzeTables(db, runLog, Deadline.unlimited(), silentLog, {
    schemas: [S],
    excludeTables: [],
    analyzeAfterDays: 7,
    analyzeModifiedPercent: 5,
    force: true,
    dryRun: false,
    now: new Date(),
    ...opts,
  });
}

/** A statement reading `reports` for a minute; resolves once it has run `seconds` (polled: no timing assumed). */
async function longRead(seconds: number): Promise<{ id: number; stop: () => Promise<void> }> {
  const reader = await connect();
  const [[me]] = (await reader.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
  const running = reader.query('SELECT SLEEP(60) FROM reports LIMIT 1').catch(() => undefined);
  for (;;) {
    const [[row]] = (await admin.query('SELECT TIME AS t FROM information_schema.PROCESSLIST WHERE ID = ?', [me.id])) as unknown as [[{ t: number } | undefined]];
    if (row && Number(row.t) >= seconds) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    id: Number(me.id),
    stop: async () => {
      await admin.query(`KILL QUERY ${Number(me.id)}`);
      await running;
      await reader.end();
    },
  };
}

const GUARD = { behindQueryGuard: { seconds: 1, version: 'MySQL 8.0.23' } };

beforeAll(async () => {
  server = await startLocalMariaDb();
  const c = credentialsFromUrl(server.url);
  admin = await mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password, multipleStatements: true });
  await admin.query(`CREATE DATABASE ${S}; USE ${S};
    CREATE TABLE reports (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO reports VALUES (1, 1);
    CREATE TABLE orders (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO orders VALUES (1, 1);`);
  db = await openSession(c, { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 }, 'disabled');
}, 120_000);
afterAll(async () => {
  await db?.close();
  await admin?.end();
  await server?.stop();
});

describe('ANALYZE behind a long query', () => {
  it('skips the table a long statement reads, naming the connection and the stall, and analyzes the others (found by statement text)', async () => {
    const reader = await longRead(1);
    try {
      const r = await analyze(GUARD);
      const reports = r.tables.find((t) => t.table === 'reports')!;
      expect(reports.action).toBe('skipped');
      expect(reports.detail).toContain(`connection ${reader.id} (`);
      expect(reports.detail).toMatch(/SELECT SLEEP\(60\) FROM reports.*\(found by statement text: metadata locks not visible\); on MySQL 8\.0\.23 ANALYZE TABLE would make every later query on the table wait for it \("Waiting for table flush"\): skipped/);
      expect(r.tables.find((t) => t.table === 'orders')!.action).toBe('analyzed');
      // The dry run says the same.
      const dry = await analyze({ ...GUARD, dryRun: true });
      expect(dry.tables.map((t) => [t.table, t.action]).sort()).toEqual([['orders', 'would-analyze'], ['reports', 'skipped']].sort());
    } finally {
      await reader.stop();
    }
    expect((await analyze(GUARD)).tables.find((t) => t.table === 'reports')!.action).toBe('analyzed');
  }, 120_000);

  it('with METADATA_LOCK_INFO, finds the reader by its metadata lock', async () => {
    await admin.query("INSTALL SONAME 'metadata_lock_info'");
    const reader = await longRead(1);
    try {
      const reports = (await analyze(GUARD)).tables.find((t) => t.table === 'reports')!;
      expect(reports.action).toBe('skipped');
      expect(reports.detail).toContain(`connection ${reader.id} (`);
      expect(reports.detail).not.toContain('statement text');
    } finally {
      await reader.stop();
      await admin.query("UNINSTALL SONAME 'metadata_lock_info'");
    }
  }, 120_000);

  it('without the guard (a server where ANALYZE does not flush, as this MariaDB) the table is analyzed while the statement runs', async () => {
    const reader = await longRead(1);
    try {
      expect((await analyze({})).tables.find((t) => t.table === 'reports')!.action).toBe('analyzed');
    } finally {
      await reader.stop();
    }
  }, 120_000);
});

describe('which servers flush on ANALYZE', () => {
  it('MySQL before 8.0.24 (Aurora 3.01–3.02 report 8.0.23), not 8.0.24+, 8.4, or MariaDB 10.5+', () => {
    expect(analyzeFlushesTable(parseServerVersion('8.0.23'))).toBe(true);
    expect(analyzeFlushesTable(parseServerVersion('8.0.23', '', '3.02.2'))).toBe(true);
    expect(analyzeFlushesTable(parseServerVersion('8.0.24'))).toBe(false);
    expect(analyzeFlushesTable(parseServerVersion('8.4.3'))).toBe(false);
    expect(analyzeFlushesTable(parseServerVersion('10.4.32-MariaDB'))).toBe(true);
    expect(analyzeFlushesTable(parseServerVersion('10.11.19-MariaDB-0+deb12u1'))).toBe(false);
  });

  it('matches statement text that names the table, quoted or not, and not another table with a longer name or in another schema', () => {
    expect(namesTable('SELECT * FROM reports WHERE 1', 'guard_t', 'reports', 'guard_t')).toBe(true);
    expect(namesTable('select * from `guard_t`.`reports` r join x', 'guard_t', 'reports', null)).toBe(true);
    expect(namesTable('SELECT * FROM guard_t . reports', 'guard_t', 'reports', 'other')).toBe(true);
    expect(namesTable('SELECT * FROM reports_2024', 'guard_t', 'reports', 'guard_t')).toBe(false);
    expect(namesTable('SELECT * FROM reports', 'guard_t', 'reports', 'other')).toBe(false);
    expect(namesTable('SELECT * FROM other.reports', 'guard_t', 'reports', 'guard_t')).toBe(false);
    expect(namesTable('SELECT * FROM `we``ird`', 'guard_t', 'we`ird', 'guard_t')).toBe(true);
  });
});
