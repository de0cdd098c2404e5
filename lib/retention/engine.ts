// The retention engine: delete or archive rows older than a rule's cutoff, in short index-walking chunks.
import { createHash } from 'node:crypto';
import type { DbSession } from '../db/connection';
import { errno, isFatal, sqlMessage } from '../db/errors';
import { ContentionSensor, OWN_WRITES_PER_CHUNK, serverActivity, type ServerActivity } from './contention';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { DateFormat, PurgeSettings, Walk, WhereClause } from '../config/schema';
import type { RunLog } from '../runlog/command-log';
import type { Deadline } from '../runtime/deadline';
import type { Log } from '../runtime/log';
import { archiveLayout, checkArchiveTable, ensureArchiveTable, type ArchiveLayout, type ArchiveTableOptions } from './archive-table';
import { ChunkSizer } from './chunk-size';
import { BoundaryPrefetch, WalkCursor, type WalkState } from './walk-state';
import { chunkSizing, estimateRowBytes, type ChunkSizing } from './row-bytes';
import { diagnosisOf, LockWatch, type LockDiagnosis } from '../db/lock-diagnostics';
import { RestBudget } from './nice';
import { rulePredicate } from './criteria';
import { indexLeadingWith, inspectTable, type ChildTable, type IndexInfo, type TableShape } from './inspect';
import { and, keyAfter, keyAtMost, TRUE_PART, type SqlPart } from './keyset';
import { deleteUpToBound } from './bounded-delete';
import type { Throttle } from './throttle';
import { beforeCutoff, cutoffValue, isProblem, problemText, resolveDateColumn, timestampZoneProblem, type DateEncoding } from './date-format';
import { addChildRows, checkCascadeCount, countChunkCascade, countRunCascade, noChildRows, planCascade, type CascadePlan, type ChildRowCount } from './cascade';
import { ChunkContentMismatchError, ChunkCountMismatchError, RuleRefusedError } from './rule-errors';
import { describeChecksum, readChecksum, rowChecksumSelect, sameContent } from './row-checksum';
import { copyRefusedMessage, restoreSqlMode, useStrictSqlMode } from './strict-mode';
import { zeroDateColumns } from './zero-dates';

/** A cleanup rule or the archive-orders rule, resolved against a target. */
export interface RetentionRule {
  readonly schema: string;
  readonly table: string;
  readonly dateColumn: string;
  /** How an integer dateColumn stores time (lib/retention/date-format.ts). */
  readonly dateFormat?: DateFormat;
  readonly retentionDays: number;
  readonly action: 'delete' | 'archive';
  readonly where: readonly WhereClause[];
  readonly archiveSchema: string;
  readonly archiveTable: string;
  /** Create a missing archiveSchema (with the source schema's character set and collation) instead of refusing the rule. */
  readonly createArchiveSchema?: boolean;
  readonly allowFullScan: boolean;
  readonly walk: Walk;
  readonly chunkTimeSeconds?: number;
  /** Delete rules: go ahead over ON DELETE CASCADE / SET NULL children, counting their rows (lib/retention/cascade.ts). */
  readonly cascade?: boolean;
}

export type RuleStatus = 'completed' | 'dry-run' | 'stopped-at-deadline' | 'already-running' | 'refused' | 'failed' | 'not-started';
export type WalkKind = 'primary-key' | 'date-index';

export interface RuleResult {
  readonly table: string;
  readonly action: 'delete' | 'archive';
  /** Fixed at the start of the run: now − retention, UTC. */
  readonly cutoff: string;
  /** The cutoff in the date column's unit where it is not the instant itself (DATE: its UTC day; integer columns: the number bound). */
  cutoffValue?: string | number;
  status: RuleStatus;
  message?: string;
  walk?: WalkKind;
  walkReason?: string;
  index?: string;
  rowsDeleted: number;
  rowsArchived: number;
  /** Matching rows left (exact up to the count limit); null when not known. */
  rowsRemaining: number | null;
  rowsRemainingEstimated?: boolean;
  /** Dry run: rows that would go (exact unless `estimated`). */
  wouldRemove?: number;
  wouldRemoveEstimated?: boolean;
  chunks: number;
  /** Chunks during which the server counted row-lock waits (the chunk size then shrinks). */
  contendedChunks?: number;
  retries: number;
  throttledSeconds: number;
  durationSeconds: number;
  childTables: readonly ChildTable[];
  /** Rules with `cascade`: rows of each child table removed or set to NULL with the rule's rows (the dry run: would be). */
  childRows?: ChildRowCount[];
  archiveTable?: string;
  archiveTableCreated?: boolean;
  /** The first chunk's size and the cap on every chunk, and why (row size against purge.maxChunkBytes). */
  chunkSizing?: ChunkSizing;
  /** A chunk that gave up on a lock: which lock, and who held it. */
  blocker?: LockDiagnosis;
}

export interface EngineOptions {
  readonly dryRun: boolean;
  readonly now: Date;
  readonly settings: PurgeSettings;
  readonly deadline: Deadline;
  readonly throttle: Throttle;
  readonly log: Log;
  readonly runLog: RunLog;
  /**
   * A second session to the same server for the walk's boundary reads: the next chunk's boundary is read on it
   * while this chunk's statements run. Consistent reads with autocommit on (no locks, no read view kept). Without
   * it, or once it fails, boundaries are read on `db` before each chunk.
   */
  readonly reader?: DbSession;
  /**
   * A third session that runs every other chunk while the application is not writing (`purge.idleWalkers`). Without
   * it, or once it fails, chunks run one at a time on `db`.
   */
  readonly second?: DbSession;
  /**
   * Watches chunk statements (and the walk's reads) that wait for locks, from a session of its own: one that gives up
   * names the lock and its holder. Without it the holder is looked for after the timeout, on the walk's session.
   */
  readonly lockWatch?: LockWatch;
  /** Test-only fault injection: runs inside an archive chunk's transaction, between INSERT and DELETE. */
  readonly faults?: { readonly betweenInsertAndDelete?: (chunk: number) => Promise<void> };
}

export { ChunkContentMismatchError, ChunkCountMismatchError, RuleRefusedError } from './rule-errors';

const DAY_MS = 86_400_000;
const RETRYABLE = new Set([1205, 1213]); // lock wait timeout, deadlock
const FK_ERRORS = new Set([1451, 1217]);
const MAX_CHUNK_RETRIES = 5;

/** GET_LOCK names are limited to 64 characters: long table names are hashed. */
export function lockName(schema: string, table: string): string {
  const name = `dbmaint:purge:${schema}.${table}`;
  return name.length <= 64 ? name : `dbmaint:purge:${createHash('sha1').update(`${schema}.${table}`).digest('hex')}`;
}

function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

interface Plan {
  readonly shape: TableShape;
  readonly key: IndexInfo;
  readonly dateIndex?: IndexInfo;
  readonly predicate: SqlPart;
  readonly date: DateEncoding;
  /** `date < cutoff` alone, in the column's unit. */
  readonly before: SqlPart;
  readonly cascade?: CascadePlan;
}

/** Validate a rule against the live table; throws RuleRefusedError with the reason an operator can act on. */
export async function planRule(db: DbSession, rule: RetentionRule, cutoff: Date): Promise<Plan> {
  const name = `${rule.schema}.${rule.table}`;
  const shape = await inspectTable(db, rule.schema, rule.table);
  if (!shape) throw new RuleRefusedError(`table ${name} does not exist`);
  if (shape.tableType !== 'BASE TABLE') throw new RuleRefusedError(`${name} is a ${shape.tableType.toLowerCase()}, not a table`);
  if (!shape.key) {
    throw new RuleRefusedError(`${name} has no primary key or NOT NULL unique key: its rows cannot be addressed in chunks safely`);
  }
  const columns = new Set(shape.columns.map((c) => c.name));
  for (const col of [rule.dateColumn, ...rule.where.map((w) => w.column)]) {
    if (!columns.has(col)) throw new RuleRefusedError(`${name} has no column ${col}`);
  }
  const date = resolveDateColumn(rule.schema, rule.table, rule.dateColumn, shape.columns.find((c) => c.name === rule.dateColumn)!, rule.dateFormat, cutoff);
  if (isProblem(date)) throw new RuleRefusedError(problemText(date));
  const zone = date.kind === 'timestamp' ? await timestampZoneProblem(db, rule.schema, rule.table, rule.dateColumn) : undefined;
  if (zone) throw new RuleRefusedError(problemText(zone));
  const dateIndex = indexLeadingWith(shape, rule.dateColumn);
  if (!dateIndex && !rule.allowFullScan) {
    throw new RuleRefusedError(
      `${name}: no index starts with ${rule.dateColumn}, so every chunk would scan the table; ` +
        `add one (ALTER TABLE ${qualifiedName(rule.schema, rule.table)} ADD INDEX (${quoteIdentifier(rule.dateColumn)}), ALGORITHM=INPLACE, LOCK=NONE) or set allowFullScan`,
    );
  }
  if (rule.action === 'archive') {
    const cascading = shape.children.filter((c) => c.deleteRule === 'CASCADE' || c.deleteRule === 'SET NULL');
    if (cascading.length > 0) {
      throw new RuleRefusedError(
        `${name}: archiving would ${cascading[0]!.deleteRule === 'CASCADE' ? 'delete' : 'modify'} rows of child table(s) ` +
          `${cascading.map((c) => `${c.schema}.${c.table} (${c.constraint}, ON DELETE ${c.deleteRule})`).join(', ')} that are not archived`,
      );
    }
  }
  const cascade = await planCascade(db, rule, shape.children);
  return {
    shape,
    key: shape.key,
    ...(dateIndex ? { dateIndex } : {}),
    predicate: rulePredicate(date, cutoff, rule.where),
    date,
    before: beforeCutoff(date, cutoff),
    ...(cascade ? { cascade } : {}),
  };
}

/**
 * A column as a bound value that round-trips exactly: temporal and floating-point values are read
 * as text, since a JS Date keeps milliseconds only (a DATETIME(6) bound would be truncated and the
 * walk would stall or skip rows) and doubles may not print back identically.
 */
function exactValue(shape: TableShape, column: string, aggregate?: 'MIN' | 'MAX'): string {
  const q = aggregate ? `${aggregate}(${quoteIdentifier(column)})` : quoteIdentifier(column);
  return /^(datetime|timestamp|time|date|float|double|real)$/.test(dataTypeOf(shape, column)) ? `CAST(${q} AS CHAR)` : q;
}

function dataTypeOf(shape: TableShape, column: string): string {
  return shape.columns.find((c) => c.name === column)?.dataType.toLowerCase() ?? '';
}

/** Exact count up to `limit`, so that a dry run on a huge table stays bounded. */
async function boundedCount(db: DbSession, table: string, where: SqlPart, limit: number): Promise<{ n: number; estimated: boolean }> {
  if (limit <= 0) return { n: 0, estimated: true };
  const [row] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${table} WHERE ${where.sql} LIMIT ?) x`, [...where.params, limit + 1]);
  const n = Number(row?.n ?? 0);
  return n > limit ? { n: limit, estimated: true } : { n, estimated: false };
}

interface WalkChoice {
  readonly kind: WalkKind;
  readonly reason: string;
  readonly index: IndexInfo;
  /** Bounds of the first key column among matching rows (primary-key walk). */
  readonly low?: unknown;
  readonly high?: unknown;
}

/**
 * Choose how to cut chunks. Primary-key ranges keep page access sequential and win when
 * matching rows are dense in their key range (dates that rise with the key, or half a table
 * going); walking the date index wins when they are sparse. The ratio is measured per run.
 */
async function chooseWalk(db: DbSession, rule: RetentionRule, plan: Plan, settings: PurgeSettings): Promise<WalkChoice | undefined> {
  const table = qualifiedName(rule.schema, rule.table);
  const k1 = quoteIdentifier(plan.key.columns[0]!);
  if (!plan.dateIndex) {
    return { kind: 'primary-key', reason: `no index on ${rule.dateColumn} (allowFullScan): walking the key over the whole table`, index: plan.key };
  }
  if (plan.key.columns[0] === rule.dateColumn) {
    return { kind: 'primary-key', reason: `${rule.dateColumn} leads the key: key ranges are date ranges`, index: plan.key };
  }
  if (rule.walk === 'date-index') return { kind: 'date-index', reason: 'configured walk: date-index', index: plan.dateIndex };
  // Index-only on the date index: InnoDB secondary indexes carry the primary key.
  const k1Name = plan.key.columns[0]!;
  const [b] = await db.query<{ n: number; lo: unknown; hi: unknown }>(
    `SELECT COUNT(*) AS n, ${exactValue(plan.shape, k1Name, 'MIN')} AS lo, ${exactValue(plan.shape, k1Name, 'MAX')} AS hi
       FROM ${table} FORCE INDEX (${quoteIdentifier(plan.dateIndex.name)}) WHERE ${plan.before.sql}`,
    plan.before.params,
  );
  const matching = Number(b?.n ?? 0);
  if (matching === 0) return undefined;
  const bounds = { low: b!.lo, high: b!.hi };
  if (rule.walk === 'primary-key') {
    return { kind: 'primary-key', reason: 'configured walk: primary-key', index: plan.key, ...bounds };
  }
  const cap = Math.ceil(matching / Math.max(settings.pkWalkMinMatchRatio, 1e-6));
  let inRange: number;
  let how: string;
  if (plan.shape.rowsEstimate > 0 && matching / plan.shape.rowsEstimate >= settings.pkWalkMinMatchRatio) {
    // Dense across the whole table, so dense in any key range of it: no need to count.
    inRange = Math.max(matching, plan.shape.rowsEstimate);
    how = 'at most the whole table';
  } else if (/int$/.test(dataTypeOf(plan.shape, k1Name)) && plan.shape.rowsEstimate > 0) {
    // Integer keys: estimate from the key span and the table's key density (both read from index ends, no scan).
    const [g] = await db.query<{ lo: unknown; hi: unknown }>(`SELECT MIN(${k1}) AS lo, MAX(${k1}) AS hi FROM ${table}`);
    const span = Number(g!.hi) - Number(g!.lo) + 1;
    const density = Math.min(1, plan.shape.rowsEstimate / Math.max(span, 1));
    inRange = Math.max(matching, Math.round((Number(bounds.high) - Number(bounds.low) + 1) * density));
    how = 'estimated from key density';
  } else {
    const [r] = await db.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${table} WHERE ${k1} >= ? AND ${k1} <= ? LIMIT ?) x`,
      [bounds.low, bounds.high, cap + 1],
    );
    inRange = Number(r?.n ?? 0);
    how = 'counted';
  }
  const ratio = inRange > cap ? 0 : matching / Math.max(inRange, 1);
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
  if (inRange <= cap && ratio >= settings.pkWalkMinMatchRatio) {
    return {
      kind: 'primary-key',
      reason: `${matching} of ${inRange} rows in the key range (${how}) match by date (${pct(ratio)} ≥ ${pct(settings.pkWalkMinMatchRatio)}): primary-key ranges`,
      index: plan.key,
      ...bounds,
    };
  }
  return {
    kind: 'date-index',
    reason: `${matching} matching rows are sparse in their key range (${inRange > cap ? `more than ${cap}` : inRange} rows ${how}, under ${pct(settings.pkWalkMinMatchRatio)} match): walking ${plan.dateIndex.name}`,
    index: plan.dateIndex,
  };
}

/** What the walk's reads of the table wait for: its metadata lock only (consistent reads take no row locks). */
function readingTable(rule: RetentionRule): { tables: { schema: string; table: string }[]; wants: 'read' } {
  return { tables: [{ schema: rule.schema, table: rule.table }], wants: 'read' };
}

/** The first chunk and the cap on every chunk: the configured rows, lowered to what purge.maxChunkBytes allows at the rows' size. */
async function plannedChunkSizing(db: DbSession, rule: RetentionRule, plan: Plan, settings: PurgeSettings): Promise<ChunkSizing> {
  const estimate = await estimateRowBytes(db, qualifiedName(rule.schema, rule.table), plan.shape, plan.key, rule.dateColumn, plan.dateIndex, plan.before);
  return chunkSizing({ initialRows: settings.initialChunkRows, minRows: settings.minChunkRows, maxRows: settings.maxChunkRows }, settings.maxChunkBytes, estimate);
}

/** Rows of a chunk: scanned from the walked index, bounded by the previous and the next key. */
interface ChunkBounds {
  readonly after?: readonly unknown[];
  readonly upTo?: readonly unknown[];
}

class Walker {
  readonly columns: readonly string[];
  private readonly range: SqlPart;

  constructor(
    private readonly db: DbSession,
    private readonly table: string,
    private readonly choice: WalkChoice,
    private readonly shape: TableShape,
    keyColumns: readonly string[],
    rule: RetentionRule,
    private readonly predicate: SqlPart,
    beforeCutoff: SqlPart,
  ) {
    // Walk order: the key, or (date, key) on the date index. Only NOT NULL columns take part, so
    // every comparison in the keyset is true or false (a NULL in a bound would skip rows).
    this.columns =
      choice.kind === 'primary-key' ? [...keyColumns] : [rule.dateColumn, ...keyColumns.filter((c) => c !== rule.dateColumn)];
    const k1 = quoteIdentifier(keyColumns[0]!);
    this.range =
      choice.kind === 'primary-key' && choice.low !== undefined
        ? { sql: `${k1} >= ? AND ${k1} <= ?`, params: [choice.low, choice.high] }
        : choice.kind === 'date-index' || keyColumns[0] === rule.dateColumn
          ? beforeCutoff // a date-led key: key ranges below the cutoff are exactly the rows to visit
          : TRUE_PART;
  }

  /** The key `size` rows further along the walked index, or undefined when fewer remain. */
  async nextBoundary(after: readonly unknown[] | undefined, size: number, on: DbSession = this.db): Promise<unknown[] | undefined> {
    const where = and(this.range, after ? keyAfter(this.columns, after) : TRUE_PART);
    const cols = this.columns.map(quoteIdentifier).join(', ');
    const values = this.columns.map((c, i) => `${exactValue(this.shape, c)} AS v${i}`).join(', ');
    const rows = await on.query<Record<string, unknown>>(
      `SELECT ${values} FROM ${this.table} FORCE INDEX (${quoteIdentifier(this.choice.index.name)})
        WHERE ${where.sql} ORDER BY ${cols} LIMIT 1 OFFSET ?`,
      [...where.params, size - 1],
    );
    return rows[0] ? this.columns.map((_, i) => rows[0]![`v${i}`]) : undefined;
  }

  /** The WHERE of one chunk: the rule's predicate within the chunk's key bounds. */
  chunkWhere(b: ChunkBounds): SqlPart {
    return and(this.range, b.after ? keyAfter(this.columns, b.after) : TRUE_PART, b.upTo ? keyAtMost(this.columns, b.upTo) : TRUE_PART, this.predicate);
  }
}

async function chooseIsolation(db: DbSession): Promise<string> {
  // READ COMMITTED takes no gap locks and releases non-matching rows: fewer waits for the application.
  // With statement-based binary logging the server refuses it for DELETE, so keep REPEATABLE READ there.
  const [v] = await db.query<{ logBin: number; format: string }>('SELECT @@log_bin AS logBin, @@binlog_format AS format');
  const level = Number(v?.logBin) === 1 && String(v?.format).toUpperCase() === 'STATEMENT' ? 'REPEATABLE READ' : 'READ COMMITTED';
  await db.exec(`SET SESSION TRANSACTION ISOLATION LEVEL ${level}`);
  return level;
}

/** The cutoff of a rule for a run that started at `now`: fixed once, UTC. */
export function cutoffOf(rule: RetentionRule, now: Date): Date {
  return new Date(now.getTime() - rule.retentionDays * DAY_MS);
}

/** A rule's result before anything has happened (also what a rule that never started reports). */
export function initialRuleResult(rule: RetentionRule, now: Date, status: RuleStatus = 'completed'): RuleResult {
  return {
    table: `${rule.schema}.${rule.table}`,
    action: rule.action,
    cutoff: cutoffOf(rule, now).toISOString(),
    status,
    rowsDeleted: 0,
    rowsArchived: 0,
    rowsRemaining: null,
    chunks: 0,
    retries: 0,
    throttledSeconds: 0,
    durationSeconds: 0,
    childTables: [],
    ...(rule.action === 'archive' ? { archiveTable: `${rule.archiveSchema}.${rule.archiveTable}` } : {}),
  };
}

/** The archive checks' view of a rule: whether to create the schema, and the columns its chunks' WHERE uses. */
/**
 * Everything the engine refuses before a row moves, read-only: the rule against its table, and for an archive rule the
 * archive schema and table (column by column). Preflight uses it, so that it says what the dry run and the run say.
 */
export async function checkRule(db: DbSession, rule: RetentionRule, cutoff: Date): Promise<void> {
  const plan = await planRule(db, rule, cutoff);
  if (rule.action === 'archive') await checkArchiveTable(db, plan.shape, rule.archiveSchema, rule.archiveTable, archiveOptions(rule, plan));
}

function archiveOptions(rule: RetentionRule, plan: Plan): ArchiveTableOptions {
  return { createSchema: rule.createArchiveSchema === true, needed: [...plan.key.columns, rule.dateColumn, ...rule.where.map((w) => w.column)] };
}

/** Dry run: matching rows with zero dates would fail the run's copy (strict sql_mode); say so before any row moves. */
async function refuseZeroDates(db: DbSession, rule: RetentionRule, plan: Plan, limit: number): Promise<void> {
  const zero = await zeroDateColumns(db, qualifiedName(rule.schema, rule.table), plan.shape, plan.predicate, limit);
  if (zero.length === 0) return;
  throw new RuleRefusedError(
    `${rule.schema}.${rule.table}: rows to archive hold zero dates ('0000-00-00' or a zero month or day) in ` +
      `${zero.map((z) => `column ${z.column} (${z.rows} row(s))`).join(', ')}, which the strict sql_mode of the archive sessions refuses to copy: ` +
      `the run would fail at the first chunk holding one. Set those values to NULL or a real date in the source, or exclude the rows with a where clause`,
  );
}

export async function runRule(db: DbSession, rule: RetentionRule, opts: EngineOptions): Promise<RuleResult> {
  const started = Date.now();
  const cutoff = cutoffOf(rule, opts.now);
  const name = `${rule.schema}.${rule.table}`;
  const table = qualifiedName(rule.schema, rule.table);
  const result = initialRuleResult(rule, opts.now);
  const log = opts.log;
  const finish = () => {
    result.durationSeconds = round((Date.now() - started) / 1000);
    log.info('retention rule finished', { ...result, childTables: result.childTables.length });
    return result;
  };
  log.info('retention rule started', { table: name, action: rule.action, cutoff: result.cutoff, dryRun: opts.dryRun });

  let locked = false;
  try {
    const plan = await planRule(db, rule, cutoff);
    result.childTables = plan.shape.children;
    const unit = cutoffValue(plan.date, cutoff);
    if (unit !== undefined) result.cutoffValue = unit;
    if (plan.cascade) result.childRows = noChildRows(plan.cascade);

    if (opts.dryRun) {
      const choice = await chooseWalk(db, rule, plan, opts.settings);
      const count = await boundedCount(db, table, plan.predicate, opts.settings.dryRunExactCountLimit);
      result.status = 'dry-run';
      result.wouldRemove = count.n;
      result.wouldRemoveEstimated = count.estimated;
      result.rowsRemaining = count.n;
      result.rowsRemainingEstimated = count.estimated;
      if (plan.cascade) result.childRows = await countRunCascade(db, plan.cascade, table, plan.predicate, opts.settings.dryRunExactCountLimit);
      if (choice) Object.assign(result, { walk: choice.kind, walkReason: choice.reason, index: choice.index.name });
      else result.walkReason = 'no rows older than the cutoff';
      if (choice) result.chunkSizing = await plannedChunkSizing(db, rule, plan, opts.settings);
      if (rule.action === 'archive') {
        const state = await checkArchiveTable(db, plan.shape, rule.archiveSchema, rule.archiveTable, archiveOptions(rule, plan));
        await refuseZeroDates(db, rule, plan, opts.settings.dryRunExactCountLimit);
        result.message = state === 'ok' ? 'archive table exists' : state === 'missing-schema' ? 'archive schema and table would be created' : 'archive table would be created';
      }
      return finish();
    }

    const [lock] = await db.query<{ got: number | null }>('SELECT GET_LOCK(?, 0) AS got', [lockName(rule.schema, rule.table)]);
    if (Number(lock?.got) !== 1) {
      result.status = 'already-running';
      result.message = `another dbmaint run holds the lock on ${name}; skipped`;
      log.warn('retention rule skipped: already running', { table: name });
      return finish();
    }
    locked = true;
    return await walkAndMove({ db, rule, plan, opts, result, finish });
  } catch (err) {
    // One rule's problem must not stop the other rules; a dead connection stops everything.
    if (err instanceof RuleRefusedError) {
      result.status = 'refused';
      result.message = err.message;
      log.error('retention rule refused', { table: name, reason: err.message });
      return finish();
    }
    if (isFatal(err) || errno(err) === undefined) throw err;
    result.status = 'failed';
    result.message = sqlMessage(err);
    const blocker = diagnosisOf(err);
    if (blocker) result.blocker = blocker;
    log.error('retention rule failed', { table: name, errno: errno(err), error: sqlMessage(err) });
    return finish();
  } finally {
    if (locked) await db.query('SELECT RELEASE_LOCK(?) AS released', [lockName(rule.schema, rule.table)]).catch(() => undefined);
  }
}

/** One rule's run once it holds its lock: what the walk works with and reports into. */
interface RuleRun {
  readonly db: DbSession;
  readonly rule: RetentionRule;
  readonly plan: Plan;
  readonly opts: EngineOptions;
  readonly result: RuleResult;
  readonly finish: () => RuleResult;
}

async function walkAndMove(run: RuleRun): Promise<RuleResult> {
  const { db, rule, plan, opts, result, finish } = run;
  const log = opts.log;
  const name = `${rule.schema}.${rule.table}`;
  if (rule.action === 'archive') {
    result.archiveTableCreated = await ensureArchiveTable(db, plan.shape, rule.archiveSchema, rule.archiveTable, opts.runLog, archiveOptions(rule, plan));
  }
  // Choosing the walk reads the matching part of the date index: do not start it without time left.
  if (opts.deadline.isNear(5_000)) {
    result.status = 'stopped-at-deadline';
    return finish();
  }
  const isolation = await chooseIsolation(db);
  // Counters before the walk is chosen: the time that takes tells whether the application is live.
  const beforeChoice = await serverActivity(db);
  // The walk's first reads of the table wait behind LOCK TABLES … WRITE or a pending ALTER like its chunks would.
  const choice = await (opts.lockWatch ?? new LockWatch(undefined, log)).during(db, readingTable(rule), () => chooseWalk(db, rule, plan, opts.settings));
  if (!choice) {
    result.walkReason = 'no rows older than the cutoff';
    result.rowsRemaining = 0;
    return finish();
  }
  Object.assign(result, { walk: choice.kind, walkReason: choice.reason, index: choice.index.name });
  log.info('retention walk chosen', { table: name, walk: choice.kind, index: choice.index.name, reason: choice.reason, isolation });

  // Chunks run with autocommit off: the first statement of a chunk opens its transaction, which saves
  // a START TRANSACTION round trip per chunk. Every chunk ends in COMMIT or ROLLBACK; the session is
  // rolled back before autocommit comes back on, so a half-done chunk can never be committed by it.
  // The strict sql_mode only now, after the archive DDL: CREATE TABLE … LIKE a source with zero-date defaults
  // fails under NO_ZERO_DATE. The session gets its own mode back with autocommit.
  await useStrictSqlMode(db);
  await db.exec('SET autocommit = 0');
  let outcome: RuleResult | undefined;
  try {
    outcome = await walkChunks(run, choice, beforeChoice, isolation);
  } finally {
    try {
      await db.exec('ROLLBACK');
      await db.exec('SET autocommit = 1');
      await restoreSqlMode(db);
    } catch (err) {
      // A session left with autocommit off would never commit what later tasks write on it: stop the run
      // (the walk's own error, when there is one, is what propagates).
      if (outcome) throw Object.assign(new Error(`cannot restore autocommit and sql_mode after the walk: ${sqlMessage(err)}`), { fatal: true });
    }
  }
  return outcome;
}

async function walkChunks(run: RuleRun, choice: WalkChoice, beforeChoice: ServerActivity, isolation: string): Promise<RuleResult> {
  const { db, rule, plan, opts, result, finish } = run;
  const log = opts.log;
  const name = `${rule.schema}.${rule.table}`;
  const table = qualifiedName(rule.schema, rule.table);
  // The throttle is shared by the rules of a run: this rule reports only its own waiting.
  const throttledBefore = opts.throttle.throttledSeconds;
  const walker = new Walker(db, table, choice, plan.shape, plan.key.columns, rule, plan.predicate, plan.before);
  // A chunk that gives up on a lock says which lock and who held it.
  const locks = opts.lockWatch ?? new LockWatch(undefined, log);
  const sizing = await locks.during(db, readingTable(rule), () => plannedChunkSizing(db, rule, plan, opts.settings));
  result.chunkSizing = sizing;
  const sizer = new ChunkSizer({
    targetSeconds: rule.chunkTimeSeconds ?? opts.settings.chunkTimeSeconds,
    contendedSeconds: Math.min(opts.settings.contendedChunkTimeSeconds, rule.chunkTimeSeconds ?? opts.settings.chunkTimeSeconds),
    initialRows: opts.settings.initialChunkRows,
    minRows: opts.settings.minChunkRows,
    maxRows: opts.settings.maxChunkRows,
    maxBytes: opts.settings.maxChunkBytes,
    ...(sizing.rowBytes !== null ? { rowBytes: sizing.rowBytes } : {}),
  });
  log.info('chunk sizing', { table: name, ...sizing });
  const keyOrder = plan.key.columns.map(quoteIdentifier).join(', ');
  // With two walkers on key ranges, a bounded chunk's DELETE ends at its `size`-th row (see deleteUpToBound).
  // Single-column keys only: that form takes no index hint, and the optimizer's choice was checked on such keys alone.
  const countedDeletes = rule.action === 'delete' && choice.kind === 'primary-key' && plan.key.columns.length === 1 && isolation === 'READ COMMITTED';
  const layout = rule.action === 'archive' ? await archiveLayout(db, plan.shape, rule.archiveSchema, rule.archiveTable, choice.index) : undefined;
  // Every chunk statement walks the chosen index. Left to itself the optimizer switches to a full table scan
  // once a chunk's range is a large share of the table's (shrinking) row estimate: the chunk then reads and
  // locks every row of the table, waiting for application rows far outside its range. MySQL and MariaDB
  // accept index hints in DELETE only in the multi-table form.
  const source = `${table} FORCE INDEX (${quoteIdentifier(choice.index.name)})`;
  const type = rule.action === 'delete' ? 'PURGE-CHUNK' : 'ARCHIVE-CHUNK';
  const lockContext = {
    tables: [{ schema: rule.schema, table: rule.table }, ...(rule.action === 'archive' ? [{ schema: rule.archiveSchema, table: rule.archiveTable }] : [])],
    wants: 'write' as const,
  };
  const start = await ContentionSensor.start(db, beforeChoice, () => OWN_WRITES_PER_CHUNK(rule.action, opts.runLog.writesTable));
  if (start.live) sizer.startContended();
  const sensor = start.sensor;
  const rest = new RestBudget(opts.settings.niceRatio);
  const reader = opts.settings.prefetchBoundaries ? await strictOrNone(opts.reader, log, name, 'boundary reader') : undefined;
  const prefetch = new BoundaryPrefetch(walker, reader, log, name);
  const cursor = new WalkCursor();
  const state: WalkState = { retries: 0, collapse: false, stopped: false };

  /** One session taking chunks from the cursor and running them until the walk ends, stops, or (`single` false) collapses. */
  const lane = async (session: DbSession, single: boolean): Promise<void> => {
    for (;;) {
      if (state.stopped || (!single && state.collapse)) return;
      const reserveMs = sizer.expectedSeconds() * 2000 + 2000;
      if (opts.deadline.isNear(reserveMs)) {
        result.status = 'stopped-at-deadline';
        state.stopped = true;
        return;
      }
      const t = await opts.throttle.wait(opts.deadline, reserveMs);
      result.throttledSeconds = round(opts.throttle.throttledSeconds - throttledBefore, 1);
      if (t.stopped) {
        result.status = 'stopped-at-deadline';
        state.stopped = true;
        return;
      }
      if (state.stopped || (!single && state.collapse)) return;
      const chunkStart = Date.now();
      const startedAt = new Date();
      if (single) cursor.rewind();
      const claim = await cursor.take(async (after) => {
        const next = await locks.during(session, readingTable(rule), () => prefetch.next(after, sizer.next, session, sizer.maxRows));
        // The next chunk's size is not known before this one's time is: guess a little under the sizer's forecast.
        if (next.upTo) prefetch.start(next.upTo, Math.max(sizer.minRows, Math.round(sizer.forecast() * 0.9)));
        return next;
      });
      if (!claim) return;
      const { after, upTo, size, no: chunkNo } = claim;
      const where = walker.chunkWhere({ ...(after ? { after } : {}), ...(upTo ? { upTo } : {}) });
      const extra = { chunk: chunkNo, ...(claim.retryOf !== undefined ? { retryOf: claim.retryOf } : {}), chunkRows: size, walk: choice.kind, after: after ?? null, upTo: upTo ?? null };
      const counted = countedDeletes && !single && upTo !== undefined;
      const rangeDelete = `DELETE ${table} FROM ${source} WHERE ${where.sql}`;
      const sqlText =
        rule.action === 'archive'
          ? `INSERT INTO … SELECT … / ${rangeDelete}`
          : counted
            ? `DELETE FROM ${table} WHERE ${where.sql} ORDER BY ${keyOrder} LIMIT ${size}`
            : rangeDelete;
      let moved: number;
      try {
        // Cascading children are counted in the chunk's transaction, its rows locked, before its DELETE (lib/retention/cascade.ts).
        let cascaded: Awaited<ReturnType<typeof countChunkCascade>> | undefined;
        moved = await locks.during(session, lockContext, async () => {
          if (plan.cascade && rule.action === 'delete') cascaded = await countChunkCascade(session, plan.cascade, source, where);
          return rule.action === 'delete'
            ? counted
              ? await deleteUpToBound(session, table, source, keyOrder, where, size)
              : (await session.exec(rangeDelete, where.params)).affectedRows
            : await archiveChunk(session, table, source, qualifiedName(rule.archiveSchema, rule.archiveTable), layout!, where, startedAt, chunkNo, opts);
        });
        if (cascaded) checkCascadeCount(cascaded, moved);
        const endedAt = new Date();
        const spec = { type, sql: sqlText, schema: rule.schema, table: rule.table, extra: { ...extra, seconds: round((endedAt.getTime() - chunkStart) / 1000), ...(cascaded ? { childRows: cascaded.rows } : {}) } };
        // The chunk's run-log row commits with the chunk itself: one commit (one log flush) per chunk.
        await opts.runLog.writeCompleted(spec, startedAt, endedAt, { rowsAffected: moved }, session);
        await session.exec('COMMIT');
        cursor.settle(claim, 'committed');
        if (cascaded) addChildRows(result.childRows!, cascaded.rows);
        opts.runLog.remember(spec, startedAt, endedAt, { rowsAffected: moved });
      } catch (err) {
        cursor.settle(claim, 'failed');
        // A dead connection ends the run: the server has rolled the open chunk back, and nothing else can be done on it.
        if (isFatal(err)) throw err;
        await session.exec('ROLLBACK');
        const code = errno(err);
        const spec = { type, sql: sqlText, schema: rule.schema, table: rule.table, extra };
        await opts.runLog.recordCompleted(spec, startedAt, { ...(code !== undefined ? { errorNumber: code } : {}), errorMessage: sqlMessage(err) }, session);
        await session.exec('COMMIT'); // the failure's run-log row (autocommit is off)
        const retryable = (code !== undefined && RETRYABLE.has(code)) || err instanceof ChunkCountMismatchError;
        if (retryable && state.retries < MAX_CHUNK_RETRIES) {
          state.retries++;
          result.retries++;
          sizer.shrink();
          // Two lanes: both stop, and the walk goes on on one session from this chunk's lower bound.
          if (!single) state.collapse = true;
          const blocker = diagnosisOf(err);
          log.warn('chunk rolled back; retrying smaller', { table: name, chunk: chunkNo, errno: code, reason: sqlMessage(err), nextChunkRows: sizer.next, ...(blocker ? { blocker } : {}) });
          continue;
        }
        result.status = 'failed';
        const blocker = diagnosisOf(err);
        if (blocker) result.blocker = blocker;
        result.message =
          code !== undefined && FK_ERRORS.has(code)
            ? `chunk ${chunkNo} refused by a foreign key (${sqlMessage(err)}); child rows must go first. Not retried.`
            : `chunk ${chunkNo} failed: ${(rule.action === 'archive' ? copyRefusedMessage(code, sqlMessage(err), name) : undefined) ?? sqlMessage(err)}`;
        state.stopped = true;
        return;
      }
      state.retries = 0;
      const seconds = (Date.now() - chunkStart) / 1000;
      result.chunks++;
      if (rule.action === 'delete') result.rowsDeleted += moved;
      else result.rowsArchived += moved;
      const { contended, foregroundWrites, lockWaitsSeen, contendedChunks } = await sensor.afterChunk(session, single, sizer.contended, !upTo);
      if (contended === true) result.contendedChunks = (result.contendedChunks ?? 0) + contendedChunks;
      sizer.observe(size, seconds, contended);
      if (!single && contended === true && !state.collapse) {
        // The application is back: one session from here on, and the short chunks of a live server.
        state.collapse = true;
        log.info('application activity: walking on one session again', { table: name, chunk: chunkNo, foregroundWrites, lockWaits: lockWaitsSeen });
      }
      // Under a live load, leave the server some room between chunks (an unsampled chunk runs only while the
      // contended target is in force). Measured in bench:purge on 2 cores: resting 5% lowered the foreground's
      // p99 and maximum latency at a cost in time smaller than the noise between runs.
      if (single && contended !== false) {
        rest.owe(seconds);
        const due = rest.dueMs();
        if (due > 0 && !opts.deadline.isNear(due + reserveMs)) {
          const t0 = performance.now();
          await new Promise((r) => setTimeout(r, due));
          rest.paid(performance.now() - t0);
        }
      }
      log.info('chunk done', {
        table: name,
        chunk: chunkNo,
        rows: moved,
        scanned: size,
        seconds: round(seconds),
        done: result.rowsDeleted + result.rowsArchived,
        ...(foregroundWrites !== undefined ? { foregroundWrites, lockWaits: lockWaitsSeen } : {}),
        nextChunkRows: sizer.next,
        ...(!single ? { session: session === db ? 1 : 2 } : {}),
      });
    }
  };

  try {
    const second = opts.second;
    let twoLanes = false;
    if (second && opts.settings.idleWalkers > 1 && !sizer.contended) {
      // The application is not writing: a second session runs every other chunk, so that two chunks are in flight.
      // Its chunks are transactions like the walk's own, so it runs with the same isolation and autocommit off.
      twoLanes = await second
        .exec(`SET SESSION TRANSACTION ISOLATION LEVEL ${isolation}`)
        .then(() => useStrictSqlMode(second))
        .then(() => second.exec('SET autocommit = 0'))
        .then(
          () => true,
          (err: unknown) => {
            log.warn('second session unusable; walking on one', { table: name, error: sqlMessage(err) });
            return false;
          },
        );
    }
    if (second && twoLanes) {
      log.info('server idle: two chunks at a time', { table: name });
      // A lane that fails stops the other after its chunk: without the walk's own session (which holds the run's lock)
      // nothing may go on, and without the second one the walk goes on alone.
      const stopBoth = (err: unknown) => {
        state.collapse = true;
        throw err;
      };
      const [own, other] = await Promise.allSettled([lane(db, false).catch(stopBoth), lane(second, false).catch(stopBoth)]);
      // Back to a session without a transaction and with autocommit on (a chunk always ends in COMMIT or ROLLBACK;
      // this is for one cut short): the session may serve the next rule.
      const restored = await second
        .exec('ROLLBACK')
        .then(() => second.exec('SET autocommit = 1'))
        .then(
          () => true,
          () => false,
        );
      if (own.status === 'rejected') throw own.reason;
      if (other.status === 'rejected' || !restored) {
        // The walk does not depend on the second session: go on without it.
        log.warn('second session failed; walking on one', { table: name, error: other.status === 'rejected' ? sqlMessage(other.reason) : 'could not restore autocommit' });
      }
      if (!state.stopped && (state.collapse || cursor.behind)) await lane(db, true);
    } else {
      await lane(db, true);
    }
  } finally {
    await prefetch.settle();
    if (prefetch.used + prefetch.missed > 0) log.info('boundary prefetch', { table: name, used: prefetch.used, readAgain: prefetch.missed });
  }

  // One lane may see the deadline while the other runs the walk's last chunk: then nothing is left.
  if (result.status === 'stopped-at-deadline' && cursor.finished) result.status = 'completed';
  if (result.status === 'completed') {
    // The walk covered every key that matched at the start: nothing matching is left by
    // construction (a row written into the range meanwhile goes with the next run). Counting
    // would re-read the index range, now full of delete-marked entries, for nothing.
    result.rowsRemaining = 0;
  } else if (result.status === 'stopped-at-deadline' && !opts.deadline.isNear(1_000)) {
    const left = await boundedCount(db, table, plan.predicate, opts.settings.dryRunExactCountLimit);
    result.rowsRemaining = left.n;
    result.rowsRemainingEstimated = left.estimated;
  }
  return finish();
}

/** `session` in the walk's strict sql_mode, or undefined (with a warning) when that fails: the walk goes on without it. */
async function strictOrNone(session: DbSession | undefined, log: Log, table: string, what: string): Promise<DbSession | undefined> {
  if (!session) return undefined;
  return useStrictSqlMode(session).then(
    () => session,
    (err: unknown) => {
      log.warn(`${what} unusable; going on without it`, { table, error: sqlMessage(err) });
      return undefined;
    },
  );
}

/**
 * The body of one archive chunk, inside the caller's transaction: lock the rows and checksum them, copy them, checksum
 * the copies, delete the originals. Counts or checksums that disagree throw, and the caller rolls the chunk back. A kill
 * or timeout at any point rolls the whole chunk back: a row is in the source or in the archive, never both.
 */
async function archiveChunk(
  db: DbSession,
  table: string,
  source: string,
  archive: string,
  layout: ArchiveLayout,
  where: SqlPart,
  archivedAt: Date,
  chunk: number,
  opts: EngineOptions,
): Promise<number> {
  const checksum = rowChecksumSelect(layout.compared);
  const copied = layout.copied.map(quoteIdentifier).join(', ');
  // `source`: the table with its index hint. The checksum is read by the statement that locks the rows: what it sums is what is copied.
  const [lockedRow] = await db.query<Record<string, unknown>>(`SELECT ${checksum} FROM ${source} WHERE ${where.sql} FOR UPDATE`, where.params);
  const locked = readChecksum(lockedRow);
  const inserted = (await db.exec(`INSERT INTO ${archive} (${copied}, \`archived_at\`) SELECT ${copied}, ? FROM ${source} WHERE ${where.sql}`, [archivedAt, ...where.params])).affectedRows;
  await opts.faults?.betweenInsertAndDelete?.(chunk);
  if (inserted !== locked.rows) {
    throw new ChunkCountMismatchError(`archive counts disagree (locked ${locked.rows}, copied ${inserted}); chunk rolled back`);
  }
  // This chunk's copies: its key range (the same WHERE) and its archived_at. Earlier copies in the range have another archived_at.
  const [copiedRow] = await db.query<Record<string, unknown>>(`SELECT ${checksum} FROM ${layout.verifyFrom} WHERE \`archived_at\` = ? AND ${where.sql}`, [archivedAt, ...where.params]);
  const copies = readChecksum(copiedRow);
  if (!sameContent(locked, copies)) {
    throw new ChunkContentMismatchError(
      `the archive does not hold the chunk's rows as the source did (source ${describeChecksum(locked)}; archive ${describeChecksum(copies)}): ` +
        `a trigger or a conversion on ${archive} changed them. Chunk rolled back, nothing deleted. Not retried.`,
    );
  }
  const deleted = (await db.exec(`DELETE ${table} FROM ${source} WHERE ${where.sql}`, where.params)).affectedRows;
  if (deleted !== locked.rows) {
    throw new ChunkCountMismatchError(`archive counts disagree (locked ${locked.rows}, copied ${inserted}, deleted ${deleted}); chunk rolled back`);
  }
  return deleted;
}
