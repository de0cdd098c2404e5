// analyze-tables: find InnoDB tables with stale or missing persistent statistics and ANALYZE them.
import type { DbSession } from '../db/connection';
import { isNamedIn, qualifiedName, type TableRef } from '../db/identifiers';
import type { RunLog } from '../runlog/command-log';
import type { Deadline } from '../runtime/deadline';
import type { Log } from '../runtime/log';
import { baseTableName, dictionaryPattern, parseDictionaryName } from '../stats/innodb-names';
import { isMissingProcessPrivilege } from '../db/privileges';
import { diagnosisOf, LockWatch, type LockDiagnosis } from '../db/lock-diagnostics';
import { lockVisibility, tableLockHolders, type LockVisibility } from './metadata-locks';

export type AnalyzeReason = 'never-collected' | 'stale' | 'modified' | 'forced';
export type AnalyzeAction = 'analyzed' | 'would-analyze' | 'fresh' | 'skipped' | 'failed' | 'deferred';

export interface AnalyzeTableResult {
  readonly schema: string;
  readonly table: string;
  readonly engine: string | null;
  /** When InnoDB last wrote persistent statistics (mysql.innodb_table_stats.last_update), UTC ISO. */
  readonly statsUpdatedAt: string | null;
  readonly statsAgeDays: number | null;
  /** Rows changed since the statistics were computed, as a % of the rows then (InnoDB's in-memory counter; null when the table is not loaded). */
  readonly modifiedPercent: number | null;
  readonly reason?: AnalyzeReason;
  readonly action: AnalyzeAction;
  readonly detail?: string;
  readonly durationMs?: number;
  /** An ANALYZE that gave up on its metadata lock: who held the table. */
  readonly blocker?: LockDiagnosis;
}

export interface AnalyzeOptions {
  readonly schemas: readonly string[];
  /** Only these tables (already validated against the schemas); undefined = every table in the schemas. */
  readonly tables?: readonly TableRef[];
  readonly excludeTables: readonly TableRef[];
  readonly analyzeAfterDays: number;
  /** Also analyze tables whose modification counter reached this % of their rows. */
  readonly analyzeModifiedPercent: number;
  /** Analyze the selected tables even when their statistics are fresh (and non-InnoDB tables named explicitly). */
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly now: Date;
  /** Do not start another ANALYZE with less than this left before the deadline. */
  readonly minRemainingMs?: number;
  /** Watches each ANALYZE's lock wait from another session, to name the holder when it times out. */
  readonly lockWatch?: LockWatch;
  /**
   * On servers where ANALYZE flushes the table (analyzeFlushesTable: MySQL before 8.0.24): a table read by a statement
   * running at least this long is skipped, with that reason, instead of stalling every later query on it.
   */
  readonly behindQueryGuard?: { readonly seconds: number; readonly version: string };
}

export interface AnalyzeResult {
  readonly staleBefore: string;
  readonly tables: readonly AnalyzeTableResult[];
  readonly counts: Readonly<Record<AnalyzeAction, number>>;
  /** Views and tables outside the selection are not listed; this many views were ignored. */
  readonly viewsIgnored: number;
  /** Whether InnoDB's modification counters could be read (they need the PROCESS privilege). */
  readonly modificationCounters: boolean;
  readonly stoppedAtDeadline: boolean;
  /** Tables left for the next run when the deadline stopped this one. */
  readonly remaining: readonly string[];
}

interface CatalogueRow extends Record<string, unknown> {
  schemaName: string;
  tableName: string;
  tableType: string;
  engine: string | null;
  createOptions: string | null;
}

interface StatsRow extends Record<string, unknown> {
  databaseName: string;
  tableName: string;
  lastUpdate: Date | null;
}

const DAY_MS = 86_400_000;

function key(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}


/** Read the schemas' tables and their persistent-statistics timestamps (two queries, joined here to avoid collation mixes). */
async function readStatisticsAge(db: DbSession, schemas: readonly string[]): Promise<{ tables: CatalogueRow[]; statsAt: Map<string, Date | null> }> {
  const tables = await db.query<CatalogueRow>(
    `SELECT TABLE_SCHEMA AS schemaName, TABLE_NAME AS tableName, TABLE_TYPE AS tableType,
            ENGINE AS engine, CREATE_OPTIONS AS createOptions
       FROM information_schema.TABLES
      WHERE TABLE_SCHEMA IN (?)
      ORDER BY TABLE_SCHEMA, TABLE_NAME`,
    [schemas],
  );
  let stats: StatsRow[];
  try {
    stats = await db.query<StatsRow>(
      `SELECT database_name AS databaseName, table_name AS tableName, last_update AS lastUpdate
         FROM mysql.innodb_table_stats
        WHERE database_name IN (?)`,
      [schemas],
    );
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code === 'ER_TABLEACCESS_DENIED_ERROR' || e.code === 'ER_DBACCESS_DENIED_ERROR') {
      throw new Error('cannot read mysql.innodb_table_stats: GRANT SELECT ON mysql.innodb_table_stats TO the maintenance user');
    }
    throw err;
  }
  const statsAt = new Map<string, Date | null>();
  for (const s of stats) {
    const k = key(s.databaseName, baseTableName(s.tableName));
    const prev = statsAt.get(k);
    const at = s.lastUpdate instanceof Date ? s.lastUpdate : null;
    if (prev === undefined || (at !== null && prev !== null && at < prev)) statsAt.set(k, at);
  }
  return { tables, statsAt };
}

/**
 * InnoDB's count of rows changed since the statistics were last computed, as a % of the rows
 * then. The counter lives in the data dictionary cache: tables not opened since the server
 * started (or evicted) have none, and it resets when statistics are recalculated — with
 * STATS_AUTO_RECALC on, InnoDB itself recalculates at 10% changed, so thresholds below that are
 * the useful ones.
 */
async function readModifiedPercent(db: DbSession, schemas: readonly string[]): Promise<Map<string, number> | undefined> {
  const view = db.flavour.kind === 'mariadb' ? 'information_schema.INNODB_SYS_TABLESTATS' : 'information_schema.INNODB_TABLESTATS';
  let rows: { name: string; numRows: number; modified: number }[];
  try {
    rows = await db.query<{ name: string; numRows: number; modified: number }>(
      `SELECT NAME AS name, NUM_ROWS AS numRows, MODIFIED_COUNTER AS modified FROM ${view} WHERE ${schemas.map(() => 'NAME LIKE ?').join(' OR ')}`,
      schemas.map(dictionaryPattern),
    );
  } catch (err) {
    if (isMissingProcessPrivilege(err)) return undefined;
    throw err;
  }
  const sums = new Map<string, { rows: number; modified: number }>();
  for (const r of rows) {
    const name = parseDictionaryName(r.name);
    if (!name) continue;
    const k = key(name.schema, name.table);
    const prev = sums.get(k) ?? { rows: 0, modified: 0 };
    sums.set(k, { rows: prev.rows + Number(r.numRows), modified: prev.modified + Number(r.modified) });
  }
  const out = new Map<string, number>();
  for (const [k, v] of sums) out.set(k, v.modified === 0 ? 0 : Math.round((v.modified / Math.max(1, v.rows)) * 10000) / 100);
  return out;
}

function emptyCounts(): Record<AnalyzeAction, number> {
  return { analyzed: 0, 'would-analyze': 0, fresh: 0, skipped: 0, failed: 0, deferred: 0 };
}

interface Candidate {
  readonly row: CatalogueRow;
  readonly statsAt: Date | null;
  readonly ageDays: number | null;
  readonly modifiedPercent: number | null;
  readonly reason: AnalyzeReason;
}

export async function analyzeTables(db: DbSession, runLog: RunLog, deadline: Deadline, log: Log, opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const staleBefore = new Date(opts.now.getTime() - opts.analyzeAfterDays * DAY_MS);
  const { tables, statsAt } = await readStatisticsAge(db, opts.schemas);
  const counters = await readModifiedPercent(db, opts.schemas);
  if (!counters) log.warn('modification counters unreadable without the PROCESS privilege; analyzing by statistics age only');
  const modified = counters ?? new Map<string, number>();

  const results: AnalyzeTableResult[] = [];
  const candidates: Candidate[] = [];
  let viewsIgnored = 0;

  for (const row of tables) {
    const explicit = opts.tables !== undefined && isNamedIn(opts.tables, row.schemaName, row.tableName);
    if (opts.tables !== undefined && !explicit) continue;
    const at = statsAt.has(key(row.schemaName, row.tableName)) ? statsAt.get(key(row.schemaName, row.tableName))! : null;
    const ageDays = at ? Math.round(((opts.now.getTime() - at.getTime()) / DAY_MS) * 100) / 100 : null;
    const base = {
      schema: row.schemaName,
      table: row.tableName,
      engine: row.engine,
      statsUpdatedAt: at ? at.toISOString() : null,
      statsAgeDays: ageDays,
      modifiedPercent: modified.get(key(row.schemaName, row.tableName)) ?? null,
    };
    if (row.tableType === 'VIEW') {
      if (explicit) results.push({ ...base, action: 'skipped', detail: 'view: nothing to analyze' });
      else viewsIgnored++;
      continue;
    }
    if (row.tableType !== 'BASE TABLE') continue; // SYSTEM VIEW, SEQUENCE, TEMPORARY
    if (!explicit && isNamedIn(opts.excludeTables, row.schemaName, row.tableName)) {
      results.push({ ...base, action: 'skipped', detail: 'excluded by configuration' });
      continue;
    }
    const isInnoDb = (row.engine ?? '').toLowerCase() === 'innodb';
    if (!isInnoDb && !(explicit && opts.force)) {
      results.push({ ...base, action: 'skipped', detail: `${row.engine ?? 'unknown'} engine: no persistent statistics age (name it in tables, with force, to analyze)` });
      continue;
    }
    if (isInnoDb && /stats_persistent=0/i.test(row.createOptions ?? '') && !(explicit && opts.force)) {
      results.push({ ...base, action: 'skipped', detail: 'STATS_PERSISTENT=0: statistics are transient and recalculated by the server' });
      continue;
    }
    let reason: AnalyzeReason | undefined;
    if (isInnoDb && at === null) reason = 'never-collected';
    else if (at !== null && at < staleBefore) reason = 'stale';
    else if ((base.modifiedPercent ?? 0) >= opts.analyzeModifiedPercent) reason = 'modified';
    else if (opts.force) reason = 'forced';
    if (reason === undefined) {
      results.push({ ...base, action: 'fresh' });
      continue;
    }
    candidates.push({ row, statsAt: at, ageDays, modifiedPercent: base.modifiedPercent, reason });
  }

  // Never-collected first, then the oldest statistics: a deadline then cuts off the least urgent tables.
  candidates.sort((a, b) => (a.statsAt?.getTime() ?? -Infinity) - (b.statsAt?.getTime() ?? -Infinity));

  const minRemainingMs = opts.minRemainingMs ?? 10_000;
  const watch = opts.lockWatch ?? new LockWatch(undefined, log);
  let stoppedAtDeadline = false;
  const remaining: string[] = [];
  // Where metadata locks can be seen: asked once, on the first table the guard checks.
  let visibility: LockVisibility | undefined;
  for (const c of candidates) {
    const base = {
      schema: c.row.schemaName,
      table: c.row.tableName,
      engine: c.row.engine,
      statsUpdatedAt: c.statsAt ? c.statsAt.toISOString() : null,
      statsAgeDays: c.ageDays,
      modifiedPercent: c.modifiedPercent,
      reason: c.reason,
    };
    if (!opts.dryRun && (stoppedAtDeadline || deadline.isNear(minRemainingMs))) {
      if (!stoppedAtDeadline) log.warn('deadline near: leaving the remaining tables for the next run', { remainingMs: deadline.remainingMs() });
      stoppedAtDeadline = true;
      remaining.push(`${c.row.schemaName}.${c.row.tableName}`);
      results.push({ ...base, action: 'deferred', detail: 'time budget exhausted; next run continues' });
      continue;
    }
    if (opts.behindQueryGuard) {
      visibility ??= await lockVisibility(db);
      const readers = await longReaders(db, visibility, c.row.schemaName, c.row.tableName, opts.behindQueryGuard.seconds);
      if (readers.length > 0) {
        const who = readers.map((r) => `connection ${r.id} (${r.seconds} s${r.statement ? `: ${r.statement.slice(0, 80)}` : ''})`).join(', ');
        const detail = `read by a statement running ≥ ${opts.behindQueryGuard.seconds} s — ${who}${readers[0]!.how === 'statement text' ? ' (found by statement text: metadata locks not visible)' : ''}; on ${opts.behindQueryGuard.version} ANALYZE TABLE would make every later query on the table wait for it ("Waiting for table flush"): skipped (fixed in MySQL 8.0.24)`;
        log.warn('ANALYZE skipped behind a long query', { table: `${c.row.schemaName}.${c.row.tableName}`, readers });
        results.push({ ...base, action: 'skipped', detail });
        continue;
      }
    }
    // The dry run says what the run would do now: the guard's skips included.
    if (opts.dryRun) {
      results.push({ ...base, action: 'would-analyze' });
      continue;
    }
    const sql = `ANALYZE TABLE ${qualifiedName(c.row.schemaName, c.row.tableName)}`;
    const started = Date.now();
    try {
      // ANALYZE waits only for the table's metadata lock (behind LOCK TABLES, or an ALTER waiting for it); it reports the
      // timeout as a result row, which is thrown here so that the watch can say who held the table.
      const lockContext = { tables: [{ schema: c.row.schemaName, table: c.row.tableName }], wants: 'read' as const };
      const rows = await runLog.command({ type: 'ANALYZE', sql, schema: c.row.schemaName, table: c.row.tableName, extra: { reason: c.reason } }, () =>
        watch.during(db, lockContext, async () => {
          const out = await db.query<{ Msg_type: string; Msg_text: string }>(sql);
          const error = out.find((r) => String(r.Msg_type).toLowerCase() === 'error');
          if (error) throw Object.assign(new Error(String(error.Msg_text)), { sqlMessage: String(error.Msg_text) });
          return out;
        }),
      );
      const note = rows.map((r) => String(r.Msg_text)).filter((t) => t !== 'OK').join('; ');
      results.push({ ...base, action: 'analyzed', durationMs: Date.now() - started, ...(note ? { detail: note } : {}) });
    } catch (err) {
      const e = err as { sqlMessage?: string; message: string };
      const blocker = diagnosisOf(err);
      results.push({ ...base, action: 'failed', durationMs: Date.now() - started, detail: e.sqlMessage ?? e.message, ...(blocker ? { blocker } : {}) });
    }
  }

  const counts = emptyCounts();
  for (const r of results) counts[r.action]++;
  return { staleBefore: staleBefore.toISOString(), tables: results, counts, viewsIgnored, modificationCounters: counters !== undefined, stoppedAtDeadline, remaining };
}

interface LongReader {
  readonly id: number;
  readonly seconds: number;
  readonly statement: string | null;
  readonly how: 'metadata lock' | 'statement text';
}

/**
 * Sessions running a statement for at least `seconds` that read the table: metadata-lock holders where the server shows
 * them, else running statements that name the table (a `FROM t`, a join: the text is all there is to go on).
 */
async function longReaders(db: DbSession, visibility: LockVisibility, schema: string, table: string, seconds: number): Promise<LongReader[]> {
  if (visibility !== 'none') {
    const holders = await tableLockHolders(db, visibility, schema, table);
    const busy = holders.filter((h) => h.command === 'Query' && (h.seconds ?? 0) >= seconds);
    if (busy.length === 0) return [];
    const info = await db.query<{ id: number; info: string | null }>('SELECT ID AS id, LEFT(INFO, 200) AS info FROM information_schema.PROCESSLIST WHERE ID IN (?)', [busy.map((h) => h.threadId)]);
    const text = new Map(info.map((i) => [Number(i.id), i.info]));
    return busy.map((h) => ({ id: h.threadId, seconds: h.seconds ?? 0, statement: text.get(h.threadId) ?? null, how: 'metadata lock' as const }));
  }
  const rows = await db.query<{ id: number; seconds: number; info: string | null; db: string | null }>(
    `SELECT ID AS id, TIME AS seconds, INFO AS info, DB AS db FROM information_schema.PROCESSLIST
      WHERE COMMAND = 'Query' AND TIME >= ? AND ID <> CONNECTION_ID() AND INFO IS NOT NULL`,
    [seconds],
  );
  return rows
    .filter((r) => namesTable(String(r.info), schema, table, r.db))
    .map((r) => ({ id: Number(r.id), seconds: Number(r.seconds), statement: String(r.info).slice(0, 200), how: 'statement text' as const }));
}

/** Whether statement text names `schema.table` (qualified, or unqualified in its session's default schema), quoted or not. */
export function namesTable(sql: string, schema: string, table: string, defaultSchema: string | null): boolean {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const name = (s: string) => `(?:\`${esc(s.replace(/`/g, '``'))}\`|${esc(s)}(?![\\w$]))`;
  const before = '(?<![\\w$`.])';
  const qualified = new RegExp(`${before}${name(schema)}\\s*\\.\\s*${name(table)}`, 'i');
  if (qualified.test(sql)) return true;
  if (defaultSchema !== schema) return false;
  return new RegExp(`${before}${name(table)}(?!\\s*\\.)`, 'i').test(sql);
}
