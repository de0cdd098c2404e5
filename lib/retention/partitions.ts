// Whole expired partitions of a RANGE-partitioned table: found by the server's own partition pruning, dropped as one metadata change each behind the metadata-lock guards.
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import { partitionEnd, type TablePartition } from './partition-bounds';
import { guardedPartitionDdl, type PartitionDdlOptions } from './partition-ddl';
import type { Plan } from './plan';
import type { PartitionAction, RetentionRule } from './rule-result';

export type { TablePartition } from './partition-bounds';

/** The whole-partition path applies to RANGE and RANGE COLUMNS partitioning without sub-partitions and to rules with no `where`. */
export async function readPartitions(db: DbSession, schema: string, table: string): Promise<TablePartition[]> {
  const rows = await db.query<{ name: string | null; sub: string | null; method: string | null; expression: string | null; description: string | null; rowsEstimate: number | null }>(
    `SELECT PARTITION_NAME AS name, SUBPARTITION_NAME AS sub, PARTITION_METHOD AS method, PARTITION_EXPRESSION AS expression, PARTITION_DESCRIPTION AS description, TABLE_ROWS AS rowsEstimate
       FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION`,
    [schema, table],
  );
  const out = new Map<string, TablePartition>();
  for (const r of rows) {
    if (!r.name) continue; // not partitioned: one row with NULL names
    const seen = out.get(r.name);
    out.set(r.name, { name: r.name, method: String(r.method ?? ''), expression: r.expression, description: r.description, rowsEstimate: Number(r.rowsEstimate ?? 0) + (seen?.rowsEstimate ?? 0), subpartitioned: r.sub !== null });
  }
  return [...out.values()];
}

/** Why a rule's table does not take the partition path (undefined: it does). */
export function partitionPathRefusal(rule: RetentionRule, parts: readonly TablePartition[]): string | undefined {
  if (parts.length === 0) return 'not partitioned';
  const method = parts[0]!.method;
  if (method !== 'RANGE' && method !== 'RANGE COLUMNS') return `${method} partitioning: only RANGE partitions hold a range of dates; the row engine purges it`;
  if (parts.some((p) => p.subpartitioned)) return 'sub-partitioned: the row engine purges it';
  if (rule.where.length > 0) return 'the rule has `where` conditions: a partition may hold rows they keep, so the row engine purges it';
  return undefined;
}

/** The partitions the server's pruning says could hold a row the rule keeps (`NOT (date < cutoff)`, or a NULL date). */
async function partitionsHoldingKeptRows(db: DbSession, table: string, plan: Plan, column: string): Promise<Set<string>> {
  // MariaDB names the partitions with EXPLAIN PARTITIONS; MySQL 8 dropped that keyword and always shows them.
  const explain = db.flavour.kind === 'mariadb' ? 'EXPLAIN PARTITIONS' : 'EXPLAIN';
  const rows = await db.query<{ partitions: string | null }>(`${explain} SELECT 1 FROM ${table} WHERE NOT (${plan.before.sql}) OR ${quoteIdentifier(column)} IS NULL`, plan.before.params);
  return new Set(rows.flatMap((r) => (r.partitions ? r.partitions.split(',') : [])));
}

/**
 * Partitions every row of which the rule removes, now and whatever is inserted meanwhile: the server's pruning excludes them
 * for a kept row, so no kept row can be in them or go into them. The first partition is always listed by pruning through
 * TO_DAYS() and the like (an invalid date maps to NULL, which goes there); it counts as expired when its bound (or, where
 * the bound cannot be read, its successor's being expired) says its dates are all older than the cutoff, the date column is
 * NOT NULL and it holds no kept row. The last partition is never dropped (a table keeps one), nor MAXVALUE.
 */
export async function expiredPartitions(db: DbSession, rule: RetentionRule, plan: Plan, parts: readonly TablePartition[], cutoff: Date): Promise<TablePartition[]> {
  const table = qualifiedName(rule.schema, rule.table);
  const kept = await partitionsHoldingKeptRows(db, table, plan, rule.dateColumn);
  const expired = parts.map((p) => p.description !== 'MAXVALUE' && !kept.has(p.name));
  const first = parts[0]!;
  const notNull = plan.shape.columns.find((c) => c.name === rule.dateColumn)?.nullable === false;
  // Its end read from its bound (TO_DAYS() and the like), else its successor's being expired, says its valid dates are all old.
  const end = partitionEnd(first, first, rule.dateColumn);
  const endsOld = end !== undefined ? end.getTime() <= cutoff.getTime() : parts.length > 1 && expired[1] === true;
  if (!expired[0] && parts.length > 1 && endsOld && notNull && first.description !== 'MAXVALUE') {
    const [keptRow] = await db.query<{ one: number }>(`SELECT 1 AS one FROM ${table} PARTITION (${quoteIdentifier(first.name)}) WHERE NOT (${plan.before.sql}) LIMIT 1`, plan.before.params);
    expired[0] = keptRow === undefined;
  }
  // Ranges only grow: what is expired is a run from the first partition on, and the last partition always stays.
  const out: TablePartition[] = [];
  for (let i = 0; i < parts.length - 1 && expired[i]; i++) out.push(parts[i]!);
  return out;
}

/**
 * Drops the expired partitions in one `ALTER TABLE … DROP PARTITION p1, p2, …`: one metadata change and one exclusive
 * metadata-lock moment, whatever the rows, behind the guards of lib/retention/partition-ddl.ts (a busy table is skipped and
 * the row engine goes on with what is left). The rows are the server's estimate (TABLE_ROWS): counting them would read
 * every row, which is what dropping a partition avoids.
 */
export async function dropPartitions(db: DbSession, rule: RetentionRule, expired: readonly TablePartition[], opts: PartitionDdlOptions): Promise<PartitionAction[]> {
  if (expired.length === 0) return [];
  const rows = expired.reduce((n, p) => n + p.rowsEstimate, 0);
  const sql = `ALTER TABLE ${qualifiedName(rule.schema, rule.table)} DROP PARTITION ${expired.map((p) => quoteIdentifier(p.name)).join(', ')}`;
  const extra = { partitions: expired.map((p) => ({ name: p.name, rowsEstimate: p.rowsEstimate, lessThan: p.description })), rowsEstimate: rows };
  const r = await guardedPartitionDdl(db, rule, { type: 'DROP_PARTITION', sql, extra }, opts);
  if (!r.done) return expired.map((p) => ({ partition: p.name, action: 'skipped', rows: 0, reason: r.reason }));
  opts.log.info('partitions dropped', { table: `${rule.schema}.${rule.table}`, partitions: expired.map((p) => p.name), rowsEstimate: rows, seconds: r.seconds });
  return expired.map((p) => ({ partition: p.name, action: 'dropped', rows: p.rowsEstimate, rowsEstimated: true, seconds: r.seconds }));
}
