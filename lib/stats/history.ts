// Statistics history: one snapshot per run (per table and per schema) and least-squares sums read back from it.
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import { WINDOW_INDEX, windowIndexDefinition } from './history-window';
import { sumsOf, type Sums } from './trend';
import { probeReadable, type StoreSpec } from '../runlog/store-access';
import type { TableSize } from './sizes';

export const TABLE_HISTORY = 'table_size_history';
export const SCHEMA_HISTORY = 'schema_size_history';

export function historyDdl(schema: string): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, TABLE_HISTORY)} (
  target VARCHAR(64) NOT NULL,
  schema_name VARCHAR(64) NOT NULL,
  table_name VARCHAR(64) NOT NULL,
  captured_at DATETIME(6) NOT NULL,
  run_id CHAR(36) NOT NULL,
  engine VARCHAR(64) NULL,
  rows_estimate BIGINT UNSIGNED NOT NULL,
  rows_exact BIGINT UNSIGNED NULL,
  data_bytes BIGINT UNSIGNED NOT NULL,
  index_bytes BIGINT UNSIGNED NOT NULL,
  free_bytes BIGINT UNSIGNED NOT NULL,
  total_bytes BIGINT UNSIGNED NOT NULL,
  file_bytes BIGINT UNSIGNED NULL,
  fragmentation_percent DECIMAL(6,2) NULL,
  auto_increment_percent DECIMAL(9,4) NULL,
  PRIMARY KEY (target, schema_name, table_name, captured_at),
  KEY ix_captured (captured_at),
  ${windowIndexDefinition()}
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, SCHEMA_HISTORY)} (
  target VARCHAR(64) NOT NULL,
  schema_name VARCHAR(64) NOT NULL,
  captured_at DATETIME(6) NOT NULL,
  run_id CHAR(36) NOT NULL,
  table_count INT UNSIGNED NOT NULL,
  rows_estimate BIGINT UNSIGNED NOT NULL,
  data_bytes BIGINT UNSIGNED NOT NULL,
  index_bytes BIGINT UNSIGNED NOT NULL,
  free_bytes BIGINT UNSIGNED NOT NULL,
  total_bytes BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (target, schema_name, captured_at),
  KEY ix_captured (captured_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ];
}

export interface SchemaTotals {
  readonly schema: string;
  readonly tableCount: number;
  readonly rowsEstimate: number;
  readonly dataBytes: number;
  readonly indexBytes: number;
  readonly freeBytes: number;
  readonly totalBytes: number;
}

/** Counts and sums of a set of tables: a schema's, or the whole target's. */
export function totalsOf(tables: readonly TableSize[]): Omit<SchemaTotals, 'schema'> {
  const sum = (f: (t: TableSize) => number) => tables.reduce((n, t) => n + f(t), 0);
  return {
    tableCount: tables.length,
    rowsEstimate: sum((t) => t.rowsExact ?? t.rowsEstimate),
    dataBytes: sum((t) => t.dataBytes),
    indexBytes: sum((t) => t.indexBytes),
    freeBytes: sum((t) => t.freeBytes),
    totalBytes: sum((t) => t.totalBytes),
  };
}

export function schemaTotals(schemas: readonly string[], tables: readonly TableSize[]): SchemaTotals[] {
  // Grouped in one pass: a filter per schema costs schemas × tables (1,000 schemas of 20 tables: 20 million visits).
  const bySchema = new Map<string, TableSize[]>(schemas.map((s) => [s, []]));
  for (const t of tables) bySchema.get(t.schema)?.push(t);
  return schemas.map((schema) => ({ schema, ...totalsOf(bySchema.get(schema) ?? []) }));
}

const INSERT_BATCH = 500;

function insertTablesSql(schema: string): string {
  return `INSERT INTO ${qualifiedName(schema, TABLE_HISTORY)}
             (target, schema_name, table_name, captured_at, run_id, engine, rows_estimate, rows_exact, data_bytes, index_bytes,
              free_bytes, total_bytes, file_bytes, fragmentation_percent, auto_increment_percent) VALUES ?`;
}

function insertSchemasSql(schema: string): string {
  return `INSERT INTO ${qualifiedName(schema, SCHEMA_HISTORY)}
             (target, schema_name, captured_at, run_id, table_count, rows_estimate, data_bytes, index_bytes, free_bytes, total_bytes) VALUES ?`;
}

function pruneSql(schema: string, table: string, limit: number): string {
  return `DELETE FROM ${qualifiedName(schema, table)} WHERE target = ? AND captured_at < ? LIMIT ${limit}`;
}

export function historyStore(schema: string): StoreSpec {
  return {
    store: 'statistics history',
    schema,
    tables: [TABLE_HISTORY, SCHEMA_HISTORY],
    ddl: historyDdl(schema),
    writePrivileges: ['INSERT'],
    consequence: 'no snapshot is kept, so no growth trend builds up',
    async probe(db) {
      const at = new Date();
      await db.exec(insertTablesSql(schema), [[['probe (rolled back)', 'probe', 'probe', at, 'probe', null, 0, null, 0, 0, 0, 0, null, null, null]]]);
      await db.exec(insertSchemasSql(schema), [[['probe (rolled back)', 'probe', at, 'probe', 0, 0, 0, 0, 0, 0]]]);
    },
  };
}

/** The prune's DELETE needs DELETE, and SELECT for its WHERE. */
export function historyPruneStore(schema: string, target: string): StoreSpec {
  return {
    store: 'statistics history',
    use: 'prune',
    schema,
    tables: [TABLE_HISTORY, SCHEMA_HISTORY],
    ddl: [],
    writePrivileges: ['DELETE', 'SELECT'],
    consequence: 'snapshots older than the retention are kept',
    async probe(db) {
      for (const table of [TABLE_HISTORY, SCHEMA_HISTORY]) await db.exec(pruneSql(schema, table, 0), [target, new Date(0)]);
    },
  };
}

export class StatisticsHistory {
  constructor(
    private readonly db: DbSession,
    private readonly schema: string,
    private readonly target: string,
  ) {}

  get tables(): string {
    return `${this.schema}.${TABLE_HISTORY}, ${this.schema}.${SCHEMA_HISTORY}`;
  }

  async prepare(): Promise<void> {
    for (const ddl of historyDdl(this.schema)) await this.db.exec(ddl);
  }

  /** As a store: created if missing, and one snapshot row per table inserted (rolled back). */
  store(): StoreSpec {
    return historyStore(this.schema);
  }

  /** The DELETE of old snapshots, probed on its own: without it snapshots are still kept. */
  pruneStore(): StoreSpec {
    return historyPruneStore(this.schema, this.target);
  }

  /** Undefined when both tables can be read; else why not (1146: not created yet). */
  readable(): Promise<{ readonly errno: number; readonly reason: string } | undefined> {
    return probeReadable(this.db, this.schema, [TABLE_HISTORY, SCHEMA_HISTORY]);
  }

  /** One snapshot in one transaction: a trend never sees half a run. */
  async append(runId: string, capturedAt: Date, tables: readonly TableSize[], totals: readonly SchemaTotals[]): Promise<void> {
    await this.db.exec('START TRANSACTION');
    try {
      for (let i = 0; i < tables.length; i += INSERT_BATCH) {
        const batch = tables.slice(i, i + INSERT_BATCH);
        await this.db.exec(insertTablesSql(this.schema), [
            batch.map((t) => [
              this.target, t.schema, t.table, capturedAt, runId, t.engine, t.rowsEstimate, t.rowsExact ?? null, t.dataBytes, t.indexBytes,
              t.freeBytes, t.totalBytes, t.fileBytes, t.fragmentationPercent, t.autoIncrement?.usedPercent ?? null,
            ]),
        ]);
      }
      if (totals.length) {
        await this.db.exec(insertSchemasSql(this.schema), [
          totals.map((s) => [this.target, s.schema, capturedAt, runId, s.tableCount, s.rowsEstimate, s.dataBytes, s.indexBytes, s.freeBytes, s.totalBytes]),
        ]);
      }
      await this.db.exec('COMMIT');
    } catch (err) {
      await this.db.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Delete snapshots older than the retention, a bounded batch per run. */
  async prune(before: Date): Promise<number> {
    let n = 0;
    for (const table of [TABLE_HISTORY, SCHEMA_HISTORY]) {
      n += (await this.db.exec(pruneSql(this.schema, table, 50_000), [this.target, before])).affectedRows;
    }
    return n;
  }

  /**
   * Least-squares sums of the target's total size and rows per snapshot since `since` (x in days
   * from `since`), summed over `schemas` at each capture, computed by the server.
   */
  async targetSums(schemas: readonly string[], since: Date): Promise<{ bytes: Sums; rows: Sums; latestBytes: number | null }> {
    const rows = await this.db.query<{ d: number; bytes: number; rowsTotal: number }>(
      `SELECT TIMESTAMPDIFF(MICROSECOND, ?, captured_at) / 86400e6 AS d, SUM(total_bytes) AS bytes, SUM(rows_estimate) AS rowsTotal
         FROM ${qualifiedName(this.schema, SCHEMA_HISTORY)}
        WHERE target = ? AND schema_name IN (?) AND captured_at >= ?
        GROUP BY captured_at ORDER BY captured_at`,
      [since, this.target, schemas, since],
    );
    const pts = rows.map((r) => ({ days: Number(r.d), bytes: Number(r.bytes), rows: Number(r.rowsTotal) }));
    return {
      bytes: sumsOf(pts.map((p) => ({ days: p.days, value: p.bytes }))),
      rows: sumsOf(pts.map((p) => ({ days: p.days, value: p.rows }))),
      latestBytes: pts.length ? pts[pts.length - 1]!.bytes : null,
    };
  }

  /**
   * Per-table least-squares sums of total bytes and rows, computed in SQL (5,000 tables × 30 snapshots stay on the server).
   * `windowIndex`: the table has it (history-window.ts); the optimizer takes the primary key otherwise, all snapshots kept.
   */
  async tableSums(schemas: readonly string[], since: Date, opts: { readonly windowIndex?: boolean } = {}): Promise<{ schema: string; table: string; bytes: Sums; rows: Sums }[]> {
    const rows = await this.db.query<Record<string, number> & { s: string; t: string }>(
      `SELECT schema_name AS s, table_name AS t, COUNT(*) AS n,
              SUM(x) AS sx, SUM(x * x) AS sxx, MAX(x) - MIN(x) AS span,
              SUM(total_bytes) AS sb, SUM(x * total_bytes) AS sxb,
              SUM(rows_estimate) AS sr, SUM(x * rows_estimate) AS sxr
         FROM (SELECT schema_name, table_name, total_bytes, COALESCE(rows_exact, rows_estimate) AS rows_estimate,
                      TIMESTAMPDIFF(MICROSECOND, ?, captured_at) / 86400e6 AS x
                 FROM ${qualifiedName(this.schema, TABLE_HISTORY)}${opts.windowIndex ? ` FORCE INDEX (${WINDOW_INDEX})` : ''}
                WHERE target = ? AND schema_name IN (?) AND captured_at >= ?) h
        GROUP BY schema_name, table_name`,
      [since, this.target, schemas, since],
    );
    return rows.map((r) => {
      const base = { n: Number(r['n']), sx: Number(r['sx']), sxx: Number(r['sxx']), spanDays: Number(r['span']) };
      return {
        schema: r.s,
        table: r.t,
        bytes: { ...base, sy: Number(r['sb']), sxy: Number(r['sxb']) },
        rows: { ...base, sy: Number(r['sr']), sxy: Number(r['sxr']) },
      };
    });
  }

  /** Total size per capture since `since` (summed over the schemas), oldest first. */
  async totalsSince(schemas: readonly string[], since: Date): Promise<{ capturedAt: Date; totalBytes: number; tableCount: number }[]> {
    const rows = await this.db.query<{ at: Date; bytes: number; tables: number }>(
      `SELECT captured_at AS at, SUM(total_bytes) AS bytes, SUM(table_count) AS tables
         FROM ${qualifiedName(this.schema, SCHEMA_HISTORY)}
        WHERE target = ? AND schema_name IN (?) AND captured_at >= ?
        GROUP BY captured_at ORDER BY captured_at`,
      [this.target, schemas, since],
    );
    return rows.map((r) => ({ capturedAt: r.at, totalBytes: Number(r.bytes), tableCount: Number(r.tables) }));
  }

  /** Each table's size at the first and the last capture since `since` (null at the first when it appeared later). */
  async tableChangeSince(schemas: readonly string[], since: Date): Promise<{ table: string; bytesStart: number | null; bytesEnd: number }[]> {
    const [bounds] = await this.db.query<{ first: Date | null; last: Date | null }>(
      `SELECT MIN(captured_at) AS first, MAX(captured_at) AS last FROM ${qualifiedName(this.schema, TABLE_HISTORY)}
        WHERE target = ? AND schema_name IN (?) AND captured_at >= ?`,
      [this.target, schemas, since],
    );
    if (!bounds?.first || !bounds.last) return [];
    const rows = await this.db.query<{ s: string; t: string; at: Date; bytes: number }>(
      `SELECT schema_name AS s, table_name AS t, captured_at AS at, total_bytes AS bytes FROM ${qualifiedName(this.schema, TABLE_HISTORY)}
        WHERE target = ? AND schema_name IN (?) AND captured_at IN (?, ?)`,
      [this.target, schemas, bounds.first, bounds.last],
    );
    const byTable = new Map<string, { bytesStart: number | null; bytesEnd: number | null }>();
    for (const r of rows) {
      const name = `${r.s}.${r.t}`;
      const e = byTable.get(name) ?? { bytesStart: null, bytesEnd: null };
      if (r.at.getTime() === bounds.first.getTime()) e.bytesStart = Number(r.bytes);
      if (r.at.getTime() === bounds.last.getTime()) e.bytesEnd = Number(r.bytes);
      byTable.set(name, e);
    }
    return [...byTable].filter(([, e]) => e.bytesEnd !== null).map(([table, e]) => ({ table, bytesStart: e.bytesStart, bytesEnd: e.bytesEnd! }));
  }
}
