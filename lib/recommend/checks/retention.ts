// Retention checks: a rule's date column unusable or without an index, and a rule whose table keeps rows long past its cutoff.
import { qualifiedName, quoteIdentifier } from '../../db/identifiers';
import { clauseSql } from '../../retention/criteria';
import { beforeCutoff, isProblem, resolveDateColumn, valueToDate, type DateColumnProblem, type DateEncoding } from '../../retention/date-format';
import type { RetentionRule } from '../../retention/engine';
import { DAY_MS, errorText, item, perRun, round, tableKey, type Check, type CheckContext } from '../check';
import { indexLeadingWith, readIndexes, type IndexDef, type TableIndexes } from '../index-catalogue';
import type { Recommendation } from '../types';

/** How long the oldest-row probe may run: with extra criteria it walks the date index until a row matches. */
const PROBE_SECONDS = 5;

interface RuleState {
  readonly rule: RetentionRule;
  readonly name: string;
  /** Why the rule cannot be judged (the retention engine refuses it with its own message). */
  readonly problem?: string;
  readonly dateIndex?: IndexDef;
  readonly indexNames: readonly string[];
  /** How the date column holds time, or why the retention engine refuses it (the same decision, lib/retention/date-format.ts). */
  readonly date?: DateEncoding;
  readonly dateProblem?: DateColumnProblem;
}

/** Each rule's table, column and date index, read once for both checks. */
const ruleStates = perRun(async (ctx): Promise<RuleState[]> => {
  const rules = ctx.opts.retentionRules;
  if (rules.length === 0) return [];
  const schemas = [...new Set(rules.map((r) => r.schema))];
  const columns = await ctx.db.query<{ s: string; t: string; c: string; dataType: string; columnType: string }>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?) AND COLUMN_NAME IN (?)`,
    [schemas, [...new Set(rules.map((r) => r.dateColumn))]],
  );
  const tables = await ctx.db.query<{ s: string; t: string }>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?) AND TABLE_TYPE = 'BASE TABLE'`,
    [schemas],
  );
  const tableSet = new Set(tables.map((r) => tableKey(r.s, r.t)));
  // Exact match, as the retention engine compares column names.
  const columnSet = new Map(columns.map((r) => [`${tableKey(r.s, r.t)}\u0000${r.c}`, r]));
  const indexes = await ctx.indexes();
  // Rules from configuration live in the target's schemas; a caller's own rules might not.
  const extra = schemas.filter((s) => !ctx.opts.schemas.includes(s));
  const more = extra.length ? await readIndexes(ctx.db, extra) : new Map<string, TableIndexes>();
  return rules.map((rule) => {
    const k = tableKey(rule.schema, rule.table);
    const name = `${rule.schema}.${rule.table}`;
    const t = indexes.get(k) ?? more.get(k);
    const indexNames = (t?.indexes ?? []).map((i) => i.name);
    if (!tableSet.has(k)) return { rule, name, problem: `${name}: table not found`, indexNames };
    const column = columnSet.get(`${k}\u0000${rule.dateColumn}`);
    if (!column) return { rule, name, problem: `${name}: no column ${rule.dateColumn}`, indexNames };
    const date = resolveDateColumn(rule.schema, rule.table, rule.dateColumn, column, rule.dateFormat, new Date(ctx.opts.now.getTime() - rule.retentionDays * DAY_MS));
    const dateIndex = indexLeadingWith(t, rule.dateColumn);
    return { rule, name, indexNames, ...(dateIndex ? { dateIndex } : {}), ...(isProblem(date) ? { dateProblem: date } : { date }) };
  });
});

function problems(list: readonly RuleState[]): { note?: string } {
  const p = list.filter((s) => s.problem).map((s) => s.problem!);
  return p.length ? { note: `rules not judged: ${p.join('; ')}` } : {};
}

/** ix_<column>, made unique among the table's index names (compared case-insensitively, as the server does). */
function newIndexName(column: string, taken: readonly string[]): string {
  const used = new Set(taken.map((n) => n.toLowerCase()));
  const base = `ix_${column}`.slice(0, 60);
  let name = base;
  for (let n = 2; used.has(name.toLowerCase()); n++) name = `${base}_${n}`;
  return name;
}

export const retentionDateUnindexed: Check = {
  code: 'RETENTION_DATE_UNINDEXED',
  async run(ctx) {
    const list = await ruleStates(ctx);
    const items: Recommendation[] = [];
    const rows = new Map((await ctx.sizes()).map((t) => [tableKey(t.schema, t.table), t.rowsEstimate]));
    for (const s of list) {
      if (s.problem || s.dateProblem || s.dateIndex) continue;
      const { rule } = s;
      items.push(
        item(
          'RETENTION_DATE_UNINDEXED',
          'high',
          s.name,
          `cleanup rule on ${s.name}: no usable index starts with ${rule.dateColumn}, so ${rule.allowFullScan ? 'every purge chunk scans the table' : 'cleanup-data refuses the rule'}`,
          {
            dateColumn: rule.dateColumn,
            retentionDays: rule.retentionDays,
            allowFullScan: rule.allowFullScan,
            rowsEstimate: rows.get(tableKey(rule.schema, rule.table)) ?? null,
          },
          `CREATE INDEX ${quoteIdentifier(newIndexName(rule.dateColumn, s.indexNames))} ON ${qualifiedName(rule.schema, rule.table)} (${quoteIdentifier(rule.dateColumn)}) ALGORITHM=INPLACE LOCK=NONE`,
        ),
      );
    }
    return { items, ...problems(list) };
  },
};

/** A rule whose date column the retention engine refuses (text, an integer without dateFormat…): it deletes nothing, run after run. */
export const retentionDateUnusable: Check = {
  code: 'RETENTION_DATE_UNUSABLE',
  async run(ctx) {
    const list = await ruleStates(ctx);
    const items = list
      .filter((s) => s.dateProblem)
      .map((s) =>
        item(
          'RETENTION_DATE_UNUSABLE',
          'high',
          s.name,
          `${s.rule.action} rule on ${s.name} is refused by cleanup-data: ${s.dateProblem!.problem}`,
          { dateColumn: s.rule.dateColumn, dateFormat: s.rule.dateFormat ?? null, retentionDays: s.rule.retentionDays, action: s.rule.action },
          s.dateProblem!.fix,
        ),
      );
    return { items, ...problems(list) };
  },
};

/** The statement time limit, in each flavour's own syntax: the probe must give way rather than scan. */
function bounded(ctx: CheckContext, select: string): string {
  return ctx.db.flavour.kind === 'mariadb'
    ? `SET STATEMENT max_statement_time = ${PROBE_SECONDS} FOR ${select}`
    : select.replace(/^SELECT /, `SELECT /*+ MAX_EXECUTION_TIME(${PROBE_SECONDS * 1000}) */ `);
}

/** ER_STATEMENT_TIMEOUT (MariaDB), ER_QUERY_TIMEOUT (MySQL). */
function isTimeout(err: unknown): boolean {
  const errno = Number((err as { errno?: unknown }).errno);
  return errno === 1969 || errno === 3024;
}

export const purgeFallingBehind: Check = {
  code: 'PURGE_FALLING_BEHIND',
  async run(ctx) {
    const list = await ruleStates(ctx);
    const behindDays = ctx.opts.settings.purgeBehindDays;
    const now = ctx.opts.now.getTime();
    const items: Recommendation[] = [];
    const notJudged: string[] = [];
    for (const s of list) {
      if (s.problem) continue;
      if (!s.date) {
        notJudged.push(`${s.name}: ${s.rule.dateColumn} cannot be compared with a cutoff (RETENTION_DATE_UNUSABLE)`);
        continue;
      }
      if (!s.dateIndex) {
        notJudged.push(`${s.name}: no index on ${s.rule.dateColumn} (the check does not scan tables)`);
        continue;
      }
      const { rule, date: enc } = s;
      const cutoff = new Date(now - rule.retentionDays * DAY_MS);
      const late = new Date(cutoff.getTime() - behindDays * DAY_MS);
      const table = qualifiedName(rule.schema, rule.table);
      const date = quoteIdentifier(rule.dateColumn);
      // Without criteria MIN() reads one index entry. With them, rows the rule never deletes (e.g. orders
      // not completed) must not count: walk the date index from the oldest row to the first one that matches.
      const where = rule.where.map(clauseSql);
      const older = beforeCutoff(enc, late);
      const select = where.length
        ? `SELECT ${date} AS oldest FROM ${table} FORCE INDEX (${quoteIdentifier(s.dateIndex.name)}) WHERE ${older.sql} AND ${where.map((w) => `(${w.sql})`).join(' AND ')} ORDER BY ${date} LIMIT 1`
        : `SELECT MIN(${date}) AS oldest FROM ${table}`;
      const params = where.length ? [...older.params, ...where.flatMap((w) => w.params)] : [];
      let oldest: Date | null;
      try {
        const [row] = await ctx.db.query<{ oldest: unknown }>(bounded(ctx, select), params);
        oldest = valueToDate(enc, row?.oldest);
        if (oldest === null && row?.oldest !== null && row?.oldest !== undefined) {
          notJudged.push(`${s.name}: its oldest ${rule.dateColumn} value ${String(row.oldest)} is no ${enc.kind === 'integer' ? enc.format : enc.kind} time`);
          continue;
        }
      } catch (err) {
        if (!isTimeout(err)) throw err;
        notJudged.push(`${s.name}: no matching row found within ${PROBE_SECONDS} s (${errorText(err)})`);
        continue;
      }
      if (oldest === null || oldest >= late) continue;
      const ageDays = round((now - oldest.getTime()) / DAY_MS, 1);
      items.push(
        item(
          'PURGE_FALLING_BEHIND',
          'high',
          s.name,
          `${s.name} holds rows from ${oldest.toISOString()} (${ageDays} days old) under a ${rule.retentionDays}-day ${rule.action} rule: cleanup-data is not keeping up, or not running`,
          {
            oldestRow: oldest.toISOString(),
            oldestAgeDays: ageDays,
            retentionDays: rule.retentionDays,
            cutoff: cutoff.toISOString(),
            daysPastCutoff: round((cutoff.getTime() - oldest.getTime()) / DAY_MS, 1),
            purgeBehindDays: behindDays,
            action: rule.action,
            dateColumn: rule.dateColumn,
          },
        ),
      );
    }
    const notes = [...notJudged, ...list.filter((s) => s.problem).map((s) => s.problem!)];
    return { items, ...(notes.length ? { note: `rules not judged: ${notes.join('; ')}` } : {}) };
  },
};
