// collect-statistics: measure every table, append a snapshot to the history, and derive growth and capacity from it.
import { readPartitionedTables, type PartitionedTable } from './partitions';
import type { StatisticsSettings } from '../config/schema';
import type { DbSession } from '../db/connection';
import { qualifiedName } from '../db/identifiers';
import type { Deadline } from '../runtime/deadline';
import type { Log } from '../runtime/log';
import { SCHEMA_HISTORY, schemaTotals, StatisticsHistory, TABLE_HISTORY, totalsOf, type SchemaTotals } from './history';
import { ensureWritable, type StoreProblem } from '../runlog/store-access';
import { ensureWindowIndex, hasWindowIndex } from './history-window';
import { readTableSizes, type TableSize } from './sizes';
import { daysUntil, slopeFromSums, type Trend } from './trend';

const DAY_MS = 86_400_000;

export interface CollectOptions {
  readonly schemas: readonly string[];
  readonly target: string;
  readonly runId: string;
  readonly settings: StatisticsSettings;
  readonly historySchema: string;
  /** Allocated storage, for the capacity projection. */
  readonly storageLimitBytes?: number;
  /** Tables smaller than this do not count for the most fragmented table (a 64 KB table is always "75% free"). */
  readonly fragmentationFloorBytes: number;
  /** Dry run: measure and compute, write no snapshot. */
  readonly dryRun: boolean;
  readonly now: Date;
  /** Where a history that cannot be written, pruned or read is reported (the run's notes); the run goes on without it. */
  readonly problems?: (p: StoreProblem) => void;
}

export interface DatabaseStatistics extends Omit<SchemaTotals, 'schema'> {
  readonly indexCount: number;
  /** Among tables over the optimize size floor. */
  readonly maxFragmentation: { readonly table: string; readonly percent: number } | null;
  readonly maxAutoIncrement: { readonly table: string; readonly column: string; readonly percent: number } | null;
  /** Tables in the system or a general tablespace: their free space is the tablespace's, not theirs. */
  readonly sharedTablespaceTables: readonly string[];
}

export interface Grower {
  readonly table: string;
  readonly bytesPerDay: number;
  readonly rowsPerDay: number;
  readonly totalBytes: number;
}

export interface CollectResult {
  readonly capturedAt: string;
  readonly database: DatabaseStatistics;
  readonly schemas: readonly SchemaTotals[];
  /** Largest first (the task returns at most 500; `tablesOmitted` says how many more were measured). */
  readonly tables: readonly TableSize[];
  readonly tablesOmitted?: number;
  readonly growth: { readonly windowDays: number; readonly bytes: Trend; readonly rows: Trend };
  readonly capacity?: { readonly limitBytes: number; readonly usedPercent: number; readonly daysToLimit: number | null; readonly note?: string };
  readonly topGrowers: readonly Grower[];
  /** Partitioned tables (the 50 largest): partitions, rows and bytes, the largest, oldest and newest partition. */
  readonly partitioned?: readonly PartitionedTable[];
  readonly history: { readonly written: boolean; readonly tables: string; readonly pruned: number };
  readonly exactCounts: { readonly counted: number; readonly skippedAtDeadline: number };
  readonly readSeconds: number;
}

function name(t: { schema: string; table: string }): string {
  return `${t.schema}.${t.table}`;
}

/** Exact COUNT(*) for small tables, while time allows (a count of a large table can take minutes). */
async function exactCounts(db: DbSession, tables: TableSize[], maxRows: number, deadline: Deadline): Promise<{ tables: TableSize[]; counted: number; skipped: number }> {
  if (maxRows <= 0) return { tables, counted: 0, skipped: 0 };
  let counted = 0;
  let skipped = 0;
  const out: TableSize[] = [];
  for (const t of tables) {
    if (t.rowsEstimate > maxRows) {
      out.push(t);
    } else if (deadline.isNear(30_000)) {
      skipped++;
      out.push(t);
    } else {
      const [row] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${qualifiedName(t.schema, t.table)}`);
      counted++;
      out.push({ ...t, rowsExact: Number(row?.n ?? 0) });
    }
  }
  return { tables: out, counted, skipped };
}

function summarise(tables: readonly TableSize[], fragmentationFloorBytes: number): DatabaseStatistics {
  let maxFrag: DatabaseStatistics['maxFragmentation'] = null;
  let maxAuto: DatabaseStatistics['maxAutoIncrement'] = null;
  for (const t of tables) {
    if (t.fragmentationPercent !== null && t.totalBytes >= fragmentationFloorBytes && (maxFrag === null || t.fragmentationPercent > maxFrag.percent)) maxFrag = { table: name(t), percent: t.fragmentationPercent };
    const a = t.autoIncrement;
    if (a?.usedPercent != null && (maxAuto === null || a.usedPercent > maxAuto.percent)) maxAuto = { table: name(t), column: a.column, percent: a.usedPercent };
  }
  return {
    ...totalsOf(tables),
    indexCount: tables.reduce((n, t) => n + t.indexCount, 0),
    maxFragmentation: maxFrag,
    maxAutoIncrement: maxAuto,
    sharedTablespaceTables: tables.filter((t) => t.sharedTablespace).map(name),
  };
}

export async function collectStatistics(db: DbSession, deadline: Deadline, log: Log, opts: CollectOptions): Promise<CollectResult> {
  const t0 = Date.now();
  const measured = await readTableSizes(db, { schemas: opts.schemas });
  const readSeconds = Math.round((Date.now() - t0) / 10) / 100;
  log.info('table sizes read', { tables: measured.length, seconds: readSeconds });
  const counts = await exactCounts(db, measured, opts.settings.exactCountMaxRows, deadline);
  const tables = [...counts.tables].sort((a, b) => b.totalBytes - a.totalBytes);
  const totals = schemaTotals(opts.schemas, tables);
  const database = summarise(tables, opts.fragmentationFloorBytes);

  const history = new StatisticsHistory(db, opts.historySchema, opts.target);
  /** True when there was a problem (reported). */
  const problem = (p: StoreProblem | undefined): boolean => {
    if (p) opts.problems?.(p);
    return p !== undefined;
  };
  let pruned = 0;
  let written = false;
  // The measurements are the task's result; the history only adds trends. Without grants on it the run still succeeds.
  if (!opts.dryRun && !problem(await ensureWritable(db, history.store()))) {
    await history.append(opts.runId, opts.now, tables, totals);
    written = true;
    if (!problem(await ensureWritable(db, history.pruneStore()))) pruned = await history.prune(new Date(opts.now.getTime() - opts.settings.historyRetentionDays * DAY_MS));
  }

  const since = new Date(opts.now.getTime() - opts.settings.growthWindowDays * DAY_MS);
  const minSpanDays = opts.settings.minHistoryHours / 24;
  const unreadable = await history.readable();
  // 1146: not created yet (a dry run before the first run). Anything else is a grant or a read-only server.
  if (unreadable && unreadable.errno !== 1146) {
    problem({ store: 'statistics history', use: 'read', schema: opts.historySchema, tables: [TABLE_HISTORY, SCHEMA_HISTORY], reason: unreadable.reason, privileges: ['SELECT'], consequence: 'no growth trend, capacity projection or top growers' });
  }
  const readable = !unreadable;
  const targetSums = readable ? await history.targetSums(opts.schemas, since) : undefined;
  const noHistory: Trend = {
    notEnoughHistory: unreadable && unreadable.errno !== 1146 ? `statistics history not readable (${unreadable.reason})` : 'no snapshot history yet (a dry run writes none)',
  };
  const bytesTrend = targetSums ? slopeFromSums(targetSums.bytes, minSpanDays) : noHistory;
  const rowsTrend = targetSums ? slopeFromSums(targetSums.rows, minSpanDays) : noHistory;

  const growers: Grower[] = [];
  if (readable && opts.settings.topGrowers > 0) {
    const current = new Map(tables.map((t) => [name(t), t.totalBytes]));
    const windowIndex = opts.dryRun ? await hasWindowIndex(db, opts.historySchema, TABLE_HISTORY) : await ensureWindowIndex(db, opts.historySchema, TABLE_HISTORY, log);
    for (const s of await history.tableSums(opts.schemas, since, { windowIndex })) {
      const b = slopeFromSums(s.bytes, minSpanDays);
      const r = slopeFromSums(s.rows, minSpanDays);
      if ('perDay' in b && b.perDay > 0) {
        growers.push({ table: `${s.schema}.${s.table}`, bytesPerDay: Math.round(b.perDay), rowsPerDay: 'perDay' in r ? Math.round(r.perDay) : 0, totalBytes: current.get(`${s.schema}.${s.table}`) ?? 0 });
      }
    }
    growers.sort((a, b) => b.bytesPerDay - a.bytesPerDay);
    growers.splice(opts.settings.topGrowers);
  }

  const partitioned = await readPartitionedTables(db, tables);

  let capacity: CollectResult['capacity'];
  if (opts.storageLimitBytes !== undefined) {
    const limit = opts.storageLimitBytes;
    const usedPercent = Math.round((database.totalBytes / limit) * 10000) / 100;
    capacity =
      'perDay' in bytesTrend
        ? { limitBytes: limit, usedPercent, daysToLimit: daysUntil(limit, database.totalBytes, bytesTrend.perDay), ...(bytesTrend.perDay <= 0 ? { note: 'not growing over the window' } : {}) }
        : { limitBytes: limit, usedPercent, daysToLimit: database.totalBytes >= limit ? 0 : null, note: bytesTrend.notEnoughHistory };
  }

  return {
    capturedAt: opts.now.toISOString(),
    database,
    schemas: totals,
    tables,
    growth: { windowDays: opts.settings.growthWindowDays, bytes: bytesTrend, rows: rowsTrend },
    ...(capacity ? { capacity } : {}),
    topGrowers: growers,
    ...(partitioned.length ? { partitioned } : {}),
    history: { written, tables: history.tables, pruned },
    exactCounts: { counted: counts.counted, skippedAtDeadline: counts.skipped },
    readSeconds,
  };
}
