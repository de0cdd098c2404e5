// The retention engine's two walking sessions (two chunks in flight while the server is idle), on a MariaDB of this
// file's own: whether the server is idle is read from server-wide counters, which the other test files, running at the
// same time on the shared server, would move at random.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalMariaDb } from '../dev/mariadb-server';
import { adminConnection, freshSchema, useOwnServer } from './support/db';
import { recordingLog } from './support/recording-log';
import { rule, run, session } from './support/retention';
import { retentionTables } from './support/retention-tables';

const S = 'walkers_t';
let server: Awaited<ReturnType<typeof startLocalMariaDb>>;
let admin: mysql.Connection;

const { count, intTable, charTable } = retentionTables(() => admin, S);

beforeAll(async () => {
  server = await startLocalMariaDb({ bufferPoolMb: 128 });
  useOwnServer(server.url);
  admin = await adminConnection();
  await freshSchema(admin, S);
  await admin.query(`USE ${S}`); // MariaDB's seq_1_to_N tables need a current schema
  await admin.query(`DROP DATABASE IF EXISTS ${S}_log`);
});
afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

describe('two chunks at a time while the server is idle', () => {
  const settings = { initialChunkRows: 300, maxChunkRows: 300 };
  const idleOnTwo = (log: ReturnType<typeof recordingLog>) => log.lines.some((e) => e.message === 'server idle: two chunks at a time');
  const onSession = (log: ReturnType<typeof recordingLog>, n: 1 | 2) => log.lines.filter((e) => e.message === 'chunk done' && e.fields?.['session'] === n).length;
  const onSecond = (log: ReturnType<typeof recordingLog>) => onSession(log, 2);
  async function secondIsClean(second: Awaited<ReturnType<typeof session>>): Promise<void> {
    expect(Number((await second.query<{ a: number }>('SELECT @@autocommit AS a'))[0]!.a)).toBe(1);
    expect(await count('SELECT COUNT(*) n FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?', [second.threadId])).toBe(0);
  }

  it('removes exactly what one session removes, on integer and CHAR keys; every chunk is in the run log', async () => {
    await intTable('two_int', 20_000, false);
    await intTable('two_int_b', 20_000, false);
    await charTable('two_char', 6000);
    await charTable('two_char_b', 6000);
    for (const [table, twin] of [['two_int', 'two_int_b'], ['two_char', 'two_char_b']] as const) {
      const old = await count(`SELECT COUNT(*) n FROM ${S}.${table} WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
      const young = await count(`SELECT COUNT(*) n FROM ${S}.${table}`) - old;
      const log = recordingLog();
      const second = await session();
      const now = new Date();
      const two = await run(rule(S, table), { settings, log, now, second });
      const one = await run(rule(S, twin), { settings: { ...settings, idleWalkers: 1 }, now });
      expect(two).toMatchObject({ status: 'completed', rowsDeleted: old, rowsRemaining: 0, retries: 0 });
      expect(one).toMatchObject({ status: 'completed', rowsDeleted: old, rowsRemaining: 0 });
      expect(idleOnTwo(log)).toBe(true);
      // Chunks are claimed one at a time in key order, so the second session's first claim is chunk 2 whatever the
      // timing. How the rest are shared depends on which session is free first, and on a loaded machine the engine
      // may see its own two sessions' overlap as contention and walk on one session again (chunks logged without a
      // session number): only the total is exact.
      expect(onSecond(log)).toBeGreaterThan(0);
      expect(log.lines.filter((e) => e.message === 'chunk done').length).toBe(two.chunks);
      expect(await count(`SELECT COUNT(*) n FROM ${S}.${table}`)).toBe(young);
      expect(await count(`SELECT COUNT(*) n FROM ${S}.${table} WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`)).toBe(0);
      expect(await count(`SELECT COUNT(*) n FROM ${S}_log.command_log WHERE command_type = 'PURGE-CHUNK' AND table_name = ? AND error_number IS NULL`, [table])).toBe(two.chunks);
      // Every chunk but the open-ended last ends at its own last key (ORDER BY … LIMIT): see bounded-delete.
      const limited = await count(`SELECT COUNT(*) n FROM ${S}_log.command_log WHERE command_type = 'PURGE-CHUNK' AND table_name = ? AND command LIKE '% LIMIT %'`, [table]);
      expect(limited).toBeGreaterThan(two.chunks / 2);
      await secondIsClean(second);
      await second.close();
    }
  });

  it('loses and doubles nothing when the second session is killed mid-chunk; the walk finishes on its own session', async () => {
    await intTable('two_kill', 8000, false);
    const old = await count(`SELECT COUNT(*) n FROM ${S}.two_kill WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
    const second = await session();
    const log = recordingLog();
    let killed = false;
    const res = await run(rule(S, 'two_kill', { action: 'archive' }), {
      second,
      log,
      settings,
      faults: {
        betweenInsertAndDelete: async () => {
          // The first chunk that runs on the second session while the other is walking too.
          if (!killed && onSecond(log) > 0) {
            killed = true;
            await admin.query(`KILL ${second.threadId}`);
          }
        },
      },
    });
    await second.close();
    expect(killed).toBe(true);
    expect(res).toMatchObject({ status: 'completed', rowsArchived: old, rowsRemaining: 0 });
    expect(log.lines.some((e) => e.level === 'warn' && e.message === 'second session failed; walking on one')).toBe(true);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.two_kill`) + (await count(`SELECT COUNT(*) n FROM ${S}.two_kill_archive`))).toBe(8000);
    expect(await count(`SELECT COUNT(DISTINCT id) n FROM ${S}.two_kill_archive`)).toBe(old);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.two_kill_archive`)).toBe(old);
  });

  it('stops both sessions when its own is killed: nothing lost or doubled, and the next run finishes', async () => {
    await intTable('two_own', 8000, false);
    const old = await count(`SELECT COUNT(*) n FROM ${S}.two_own WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
    const db = await session();
    const second = await session();
    const log = recordingLog();
    let killed = false;
    await expect(
      run(rule(S, 'two_own', { action: 'archive' }), {
        db,
        second,
        log,
        settings,
        faults: {
          betweenInsertAndDelete: async (chunk) => {
            if (!killed && chunk >= 3) {
              killed = true;
              await admin.query(`KILL ${db.threadId}`);
            }
          },
        },
      }),
    ).rejects.toThrow();
    expect(killed).toBe(true);
    await secondIsClean(second);
    await second.close();
    await db.close().catch(() => undefined);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.two_own`) + (await count(`SELECT COUNT(*) n FROM ${S}.two_own_archive`))).toBe(8000);
    expect(await count(`SELECT COUNT(DISTINCT id) n FROM ${S}.two_own_archive`)).toBe(await count(`SELECT COUNT(*) n FROM ${S}.two_own_archive`));
    const next = await run(rule(S, 'two_own', { action: 'archive' }), { settings });
    expect(next.status).toBe('completed');
    expect(await count(`SELECT COUNT(*) n FROM ${S}.two_own_archive`)).toBe(old);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.two_own WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`)).toBe(0);
  });

  it('goes back to the failed chunk on one session after a retryable error; nothing is skipped or moved twice', async () => {
    await intTable('two_retry', 8000, false);
    const old = await count(`SELECT COUNT(*) n FROM ${S}.two_retry WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
    const log = recordingLog();
    let failed = 0;
    const res = await run(rule(S, 'two_retry', { action: 'archive' }), {
      log,
      settings,
      faults: {
        betweenInsertAndDelete: async () => {
          // Fail the first chunk that runs while the other session is walking too, as a lock wait timeout would.
          if (failed === 0 && onSecond(log) > 0) {
            failed++;
            throw Object.assign(new Error('Lock wait timeout exceeded (injected)'), { errno: 1205 });
          }
        },
      },
    });
    expect(failed).toBe(1);
    expect(res).toMatchObject({ status: 'completed', rowsArchived: old, rowsRemaining: 0, retries: 1 });
    expect(await count(`SELECT COUNT(*) n FROM ${S}.two_retry_archive`)).toBe(old);
    expect(await count(`SELECT COUNT(DISTINCT id) n FROM ${S}.two_retry_archive`)).toBe(old);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.two_retry WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`)).toBe(0);
    // Chunk numbers in the run log: each once, 1..N with none skipped (committed and failed ones), and the range the
    // failed chunk had is walked again under a new, higher number that says whose range it is.
    const [logged] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT id, error_number AS err, JSON_VALUE(extra, '$.chunk') AS chunk, JSON_VALUE(extra, '$.retryOf') AS retryOf
         FROM ${S}_log.command_log WHERE command_type = 'ARCHIVE-CHUNK' AND table_name = 'two_retry' ORDER BY id`,
    );
    const numbers = logged.map((r) => Number(r['chunk']));
    expect(new Set(numbers).size).toBe(numbers.length);
    expect([...numbers].sort((a, b) => a - b)).toEqual(numbers.map((_, i) => i + 1));
    expect(logged.filter((r) => r['err'] === null).length).toBe(res.chunks);
    const failedNo = Number(logged.find((r) => r['err'] !== null)!['chunk']);
    const again = logged.findIndex((r) => r['retryOf'] !== null);
    expect(Number(logged[again]!['retryOf'])).toBe(failedNo);
    // From the retry on, one session walks: numbers rise with every row, all above those before the rollback.
    const before = numbers.slice(0, again);
    const after = numbers.slice(again);
    expect(Math.min(...after)).toBeGreaterThan(Math.max(...before));
    expect(after).toEqual([...after].sort((a, b) => a - b));
  });

  it('walks on one session as soon as the application writes', async () => {
    await intTable('two_live', 20_000, false);
    await admin.query(`DROP TABLE IF EXISTS ${S}.app_writes`);
    await admin.query(`CREATE TABLE ${S}.app_writes (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB`);
    const old = await count(`SELECT COUNT(*) n FROM ${S}.two_live WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
    const log = recordingLog();
    let writes = 0;
    const res = await run(rule(S, 'two_live', { action: 'archive' }), {
      log,
      settings,
      faults: {
        betweenInsertAndDelete: async (chunk) => {
          // From the fourth chunk on, the application writes while every chunk runs (more writes than one chunk of
          // the other session makes, which a sample may count before that chunk has counted them itself).
          if (chunk >= 4) {
            for (let i = 0; i < 5; i++) {
              writes++;
              await admin.query(`INSERT INTO ${S}.app_writes (v) VALUES (?)`, [chunk]);
            }
          }
        },
      },
    });
    expect(writes).toBeGreaterThan(0);
    expect(res).toMatchObject({ status: 'completed', rowsArchived: old, rowsRemaining: 0 });
    expect(idleOnTwo(log)).toBe(true);
    const back = log.lines.findIndex((e) => e.message === 'application activity: walking on one session again');
    expect(back).toBeGreaterThan(-1);
    // After the switch no chunk ran on the second session (the one in flight at the switch may still finish).
    expect(log.lines.slice(back).filter((e) => e.message === 'chunk done' && e.fields?.['session'] === 2).length).toBeLessThanOrEqual(1);
    expect(await count(`SELECT COUNT(*) n FROM ${S}.two_live_archive`)).toBe(old);
  });
});
