// Before a row moves: the rule checked against the live table, the walk chosen, the chunks sized; refusals say what to fix.
import type { PurgeSettings } from '../config/schema';
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import { checkArchiveTable, type ArchiveTableOptions } from './archive-table';
import { planCascade, type CascadePlan } from './cascade';
import { rulePredicate } from './criteria';
import { beforeCutoff, isProblem, problemText, resolveDateColumn, timestampZoneProblem, type DateEncoding } from './date-format';
import { indexLeadingWith, inspectTable, type IndexInfo, type TableShape } from './inspect';
import type { SqlPart } from './keyset';
import { chunkSizing, estimateRowBytes, type ChunkSizing } from './row-bytes';
import { RuleRefusedError } from './rule-errors';
import type { RetentionRule } from './rule-result';
import { dataTypeOf, exactValue, type WalkChoice } from './walk-sql';
import { zeroDateColumns } from './zero-dates';

export interface Plan {
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

/** Exact count up to `limit`, so that a dry run on a huge table stays bounded. */
export async function boundedCount(db: DbSession, table: string, where: SqlPart, limit: number): Promise<{ n: number; estimated: boolean }> {
  if (limit <= 0) return { n: 0, estimated: true };
  const [row] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${table} WHERE ${where.sql} LIMIT ?) x`, [...where.params, limit + 1]);
  const n = Number(row?.n ?? 0);
  return n > limit ? { n: limit, estimated: true } : { n, estimated: false };
}

/**
 * Choose how to cut chunks. Primary-key ranges keep page access sequential and win when
 * matching rows are dense in their key range (dates that rise with the key, or half a table
 * going); walking the date index wins when they are sparse. The ratio is measured per run.
 */
export async function chooseWalk(db: DbSession, rule: RetentionRule, plan: Plan, settings: PurgeSettings): Promise<WalkChoice | undefined> {
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
export function readingTable(rule: RetentionRule): { tables: { schema: string; table: string }[]; wants: 'read' } {
  return { tables: [{ schema: rule.schema, table: rule.table }], wants: 'read' };
}

/** The first chunk and the cap on every chunk: the configured rows, lowered to what purge.maxChunkBytes allows at the rows' size. */
export async function plannedChunkSizing(db: DbSession, rule: RetentionRule, plan: Plan, settings: PurgeSettings): Promise<ChunkSizing> {
  const estimate = await estimateRowBytes(db, qualifiedName(rule.schema, rule.table), plan.shape, plan.key, rule.dateColumn, plan.dateIndex, plan.before);
  return chunkSizing({ initialRows: settings.initialChunkRows, minRows: settings.minChunkRows, maxRows: settings.maxChunkRows }, settings.maxChunkBytes, estimate);
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

export function archiveOptions(rule: RetentionRule, plan: Plan): ArchiveTableOptions {
  return { createSchema: rule.createArchiveSchema === true, needed: [...plan.key.columns, rule.dateColumn, ...rule.where.map((w) => w.column)] };
}

/** Dry run: matching rows with zero dates would fail the run's copy (strict sql_mode); say so before any row moves. */
export async function refuseZeroDates(db: DbSession, rule: RetentionRule, plan: Plan, limit: number): Promise<void> {
  const zero = await zeroDateColumns(db, qualifiedName(rule.schema, rule.table), plan.shape, plan.predicate, limit);
  if (zero.length === 0) return;
  throw new RuleRefusedError(
    `${rule.schema}.${rule.table}: rows to archive hold zero dates ('0000-00-00' or a zero month or day) in ` +
      `${zero.map((z) => `column ${z.column} (${z.rows} row(s))`).join(', ')}, which the strict sql_mode of the archive sessions refuses to copy: ` +
      `the run would fail at the first chunk holding one. Set those values to NULL or a real date in the source, or exclude the rows with a where clause`,
  );
}
