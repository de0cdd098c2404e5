// The key-range DELETE of two walkers ends at its chunk's last row, and still takes rows that came into the range.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openSession, type DbSession } from '../lib/db/connection';
import { credentialsFromUrl } from '../lib/db/credentials';
import { deleteUpToBound } from '../lib/retention/bounded-delete';
import { adminConnection, freshSchema, serverUrl } from './support/db';

const S = 'bounded_t';
const T = `\`${S}\`.t`;
const SOURCE = `${T} FORCE INDEX (PRIMARY)`;
let admin: mysql.Connection;
let db: DbSession;

/** Rows of `t` with these ids, 40 days old, or 1 day old for the ids in `young`. */
async function rows(ids: readonly number[], young: readonly number[] = []): Promise<void> {
  await admin.query(`TRUNCATE TABLE ${T}`);
  for (const id of ids) await admin.query(`INSERT INTO ${T} VALUES (?, UTC_TIMESTAMP() - INTERVAL ? DAY)`, [id, young.includes(id) ? 1 : 40]);
}
const left = async () => ((await admin.query<mysql.RowDataPacket[]>(`SELECT id FROM ${T} ORDER BY id`))[0] as { id: number }[]).map((r) => r.id);
const chunk = (after: number, upTo: number) => ({ sql: '`id` > ? AND `id` <= ? AND `created_at` < UTC_TIMESTAMP() - INTERVAL 30 DAY', params: [after, upTo] });

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, S);
  await admin.query(`CREATE TABLE ${T} (id INT PRIMARY KEY, created_at DATETIME NOT NULL) ENGINE=InnoDB`);
  // As a walker runs: READ COMMITTED, one transaction per chunk; a short lock wait so that a wait shows as an error.
  db = await openSession(credentialsFromUrl(serverUrl()), { lockWaitTimeoutSeconds: 1, innodbLockWaitTimeoutSeconds: 1, connectTimeoutSeconds: 5 }, 'disabled');
  await db.exec('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  await db.exec('SET autocommit = 0');
});
afterAll(async () => {
  await db.close();
  await admin.end();
});
beforeEach(async () => {
  await db.exec('ROLLBACK');
});

describe('deleteUpToBound', () => {
  it('does not touch the row after the chunk, which the other walker holds; a plain range DELETE waits for it', async () => {
    await rows([1, 2, 3, 4, 5, 6, 7]);
    const other = await adminConnection();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT * FROM ${T} WHERE id = 6 FOR UPDATE`);
      expect(await deleteUpToBound(db, T, SOURCE, '`id`', chunk(0, 5), 5)).toBe(5);
      await db.exec('ROLLBACK');
      // The same chunk as a range DELETE reads the first row past its bound: it waits, here until the timeout.
      await expect(db.exec(`DELETE ${T} FROM ${SOURCE} WHERE ${chunk(0, 5).sql}`, chunk(0, 5).params)).rejects.toMatchObject({ errno: 1205 });
      await db.exec('ROLLBACK');
    } finally {
      await other.end();
    }
    expect(await left()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('takes the rows that came into the range after its bound was read', async () => {
    // The bound (5) was read when the range held 3 rows; 2 more are there now.
    await rows([1, 2, 3, 4, 5, 6]);
    expect(await deleteUpToBound(db, T, SOURCE, '`id`', chunk(0, 5), 3)).toBe(5);
    await db.exec('COMMIT');
    expect(await left()).toEqual([6]);
  });

  it('leaves the rows that do not match, and nothing past the bound', async () => {
    await rows([1, 2, 3, 4, 5, 6], [2, 4]);
    expect(await deleteUpToBound(db, T, SOURCE, '`id`', chunk(0, 5), 5)).toBe(3);
    await db.exec('COMMIT');
    expect(await left()).toEqual([2, 4, 6]);
  });

  it('walks the primary key, without an index hint, for a chunk of most of the table (integer and CHAR keys)', async () => {
    // The form takes no FORCE INDEX: the optimizer must still pick the key range over the date index or a scan.
    await admin.query(`CREATE TABLE \`${S}\`.big_int (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
    await admin.query(`CREATE TABLE \`${S}\`.big_char (k CHAR(40) PRIMARY KEY, created_at DATETIME NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO \`${S}\`.big_int SELECT seq, UTC_TIMESTAMP() - INTERVAL 40 DAY + INTERVAL seq SECOND FROM \`${S}\`.seq_1_to_20000`);
    await admin.query(`INSERT INTO \`${S}\`.big_char SELECT SHA1(seq), UTC_TIMESTAMP() - INTERVAL (seq % 60) DAY FROM \`${S}\`.seq_1_to_20000`);
    await admin.query(`ANALYZE TABLE \`${S}\`.big_int, \`${S}\`.big_char`);
    const plan = async (sql: string, params: unknown[]) => ((await admin.query<mysql.RowDataPacket[]>(`EXPLAIN ${sql}`, params))[0] as { key: string | null; type: string }[])[0]!;
    const old = 'created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY';
    expect(await plan(`DELETE FROM \`${S}\`.big_int WHERE \`id\` > ? AND \`id\` <= ? AND ${old} ORDER BY \`id\` LIMIT ?`, [100, 18000, 17900])).toMatchObject({ key: 'PRIMARY', type: 'range' });
    expect(await plan(`DELETE FROM \`${S}\`.big_char WHERE \`k\` > ? AND \`k\` <= ? AND ${old} ORDER BY \`k\` LIMIT ?`, ['0', 'e', 17000])).toMatchObject({ key: 'PRIMARY', type: 'range' });
  });
});
