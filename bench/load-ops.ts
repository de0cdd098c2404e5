// The foreground operations of the purge benchmark, per table: 60% point reads, 20% inserts, 20% updates.
import type mysql from 'mysql2/promise';

export type LoadOp = (c: mysql.Connection, rnd: () => number, rows: number) => { kind: string; run: Promise<unknown> };

export const LOAD_OPS: Record<string, LoadOp> = {
  events: (c, rnd, rows) => {
    const r = rnd();
    if (r < 0.6) return { kind: 'read', run: c.query('SELECT * FROM bench.events WHERE id = ?', [1 + Math.floor(rnd() * rows)]) };
    if (r < 0.8)
      return {
        kind: 'insert',
        run: c.query('INSERT INTO bench.events (user_id, created_at, payload) VALUES (?, UTC_TIMESTAMP(), RANDOM_BYTES(128))', [Math.floor(rnd() * 50000)]),
      };
    return { kind: 'update', run: c.query('UPDATE bench.events SET payload = RANDOM_BYTES(128) WHERE id = ?', [1 + Math.floor(rnd() * rows)]) };
  },
  sessions: (c, rnd, rows) => {
    const r = rnd();
    const key = `SHA1(${1 + Math.floor(rnd() * rows)})`;
    if (r < 0.6) return { kind: 'read', run: c.query(`SELECT * FROM bench.sessions WHERE session_key = ${key}`) };
    if (r < 0.8)
      return { kind: 'insert', run: c.query(`INSERT INTO bench.sessions VALUES (SHA1(UUID()), TO_BASE64(RANDOM_BYTES(150)), UTC_TIMESTAMP() + INTERVAL 14 DAY)`) };
    return { kind: 'update', run: c.query(`UPDATE bench.sessions SET session_data = TO_BASE64(RANDOM_BYTES(150)) WHERE session_key = ${key}`) };
  },
};
