// `--profile`: where a contender's session spends its time, per kind of statement (count, total, average).
import type { DbSession } from '../lib/db/connection';

export interface StatementProfile {
  /** One line per statement kind, the most expensive first. */
  lines(): string[];
}

/** The statement's first three words stand for its kind: `DELETE \`bench\`.\`sessions\` FROM`, `INSERT INTO \`dbmaint\`.\`command_log\``. */
function kindOf(sql: string): string {
  return sql.trim().split(/\s+/).slice(0, 3).join(' ').slice(0, 48);
}

/** Times every query() and exec() of `db` from now on. */
export function profileStatements(db: DbSession): StatementProfile {
  const totals = new Map<string, { n: number; ms: number }>();
  const timed = async <R>(sql: string, run: () => Promise<R>): Promise<R> => {
    const t0 = performance.now();
    try {
      return await run();
    } finally {
      const k = kindOf(sql);
      const e = totals.get(k) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += performance.now() - t0;
      totals.set(k, e);
    }
  };
  const query = db.query.bind(db);
  const exec = db.exec.bind(db);
  db.query = ((sql: string, params?: readonly unknown[]) => timed(sql, () => query(sql, params))) as DbSession['query'];
  db.exec = (sql, params) => timed(sql, () => exec(sql, params));
  return {
    lines: () =>
      [...totals]
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([k, v]) => `${k.padEnd(50)} ${String(v.n).padStart(6)} × ${(v.ms / v.n).toFixed(3).padStart(7)} ms = ${v.ms.toFixed(0).padStart(6)} ms`),
  };
}
