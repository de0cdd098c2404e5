// Future partitions of a rule's RANGE-partitioned table: `partitioning: { interval, ahead }` keeps that many, added as metadata changes only (ADD PARTITION, or splitting an empty MAXVALUE partition).
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import { codecOf, dayOf, nextBound, type Interval, type TablePartition } from './partition-bounds';
import { guardedPartitionDdl, type PartitionDdlOptions } from './partition-ddl';
import type { PartitionAction, RetentionRule } from './rule-result';

const DAY_MS = 86_400_000;

/** The start of the interval holding `now` (UTC): midnight, Monday, the first of the month. */
function startOf(now: Date, interval: Interval): Date {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  if (interval === 'day') return day;
  if (interval === 'week') return new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * DAY_MS);
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

export interface RunwayPlan {
  /** Partitions wholly after the current interval, before and after the planned ones. */
  readonly ahead: number;
  readonly aheadAfter: number;
  readonly create: readonly { readonly name: string; readonly lessThan: string; readonly from: string }[];
  /** The one ALTER that creates them (ADD PARTITION, or REORGANIZE of the empty MAXVALUE partition). */
  readonly statement?: string;
  /** Why nothing can be created (the table stays as it is; the alarm and PARTITION_RUNWAY say so). */
  readonly problem?: string;
}

/** What `partitioning` asks of the table now: the partitions to add so that `ahead` whole intervals after the current one are covered. */
export async function planRunway(db: DbSession, rule: RetentionRule, parts: readonly TablePartition[], now: Date): Promise<RunwayPlan> {
  const want = rule.partitioning!;
  const bounded = parts.filter((p) => p.description !== 'MAXVALUE');
  const maxvalue = parts.find((p) => p.description === 'MAXVALUE');
  if (parts.length === 0) return { ahead: 0, aheadAfter: 0, create: [], problem: 'not partitioned: partition it by RANGE on the date column first (PARTITION_CANDIDATE)' };
  if (parts.some((p) => p.subpartitioned)) return { ahead: 0, aheadAfter: 0, create: [], problem: 'sub-partitioned: future partitions are not created' };
  const codec = codecOf(parts[0]!, rule.dateColumn);
  if (typeof codec === 'string') return { ahead: 0, aheadAfter: 0, create: [], problem: codec };
  const bounds = bounded.map((p) => codec.fromDescription(p.description ?? ''));
  if (bounds.some((b) => b === undefined)) return { ahead: 0, aheadAfter: 0, create: [], problem: 'a partition bound could not be read as a date' };
  const current = startOf(now, want.interval);
  const lowerBounds = [undefined, ...bounds.slice(0, -1)];
  // A partition is ahead when it starts after the current interval's end.
  const after = nextBound(current, want.interval).getTime();
  const ahead = lowerBounds.filter((lb) => lb !== undefined && lb.getTime() >= after).length;
  const target = (() => {
    let d = after;
    for (let i = 0; i < want.ahead; i++) d = nextBound(new Date(d), want.interval).getTime();
    return d; // the last bound needed: `ahead` whole intervals after the current one
  })();
  const names = new Set(parts.map((p) => p.name));
  const create: { name: string; lessThan: string; from: string }[] = [];
  let last = bounds.at(-1) ?? current;
  // Bounds below the current interval (a runway that ran out) are filled from the last one: inserts there would fail.
  while (last.getTime() < target && create.length < 400) {
    const from = last;
    const to = nextBound(from, want.interval);
    const name = `p${dayOf(from).replace(/-/g, '')}`;
    if (names.has(name)) return { ahead, aheadAfter: ahead, create: [], problem: `a partition named ${name} exists already out of order` };
    create.push({ name, lessThan: codec.toSql(to), from: dayOf(from) });
    last = to;
  }
  const aheadAfter = ahead + create.filter((c) => new Date(`${c.from}T00:00:00Z`).getTime() >= after).length;
  if (create.length === 0) return { ahead, aheadAfter, create };
  const table = qualifiedName(rule.schema, rule.table);
  const defs = create.map((c) => `PARTITION ${quoteIdentifier(c.name)} VALUES LESS THAN (${c.lessThan})`);
  if (!maxvalue) return { ahead, aheadAfter, create, statement: `ALTER TABLE ${table} ADD PARTITION (${defs.join(', ')})` };
  // Splitting MAXVALUE copies the rows it holds: only an empty one is split, so that no data is rebuilt.
  const [row] = await db.query<{ one: number }>(`SELECT 1 AS one FROM ${table} PARTITION (${quoteIdentifier(maxvalue.name)}) LIMIT 1`);
  const statement = `ALTER TABLE ${table} REORGANIZE PARTITION ${quoteIdentifier(maxvalue.name)} INTO (${defs.join(', ')}, PARTITION ${quoteIdentifier(maxvalue.name)} VALUES LESS THAN MAXVALUE)`;
  if (row) {
    return {
      ahead,
      aheadAfter: ahead,
      create: [],
      statement,
      problem: `${maxvalue.name} (MAXVALUE) holds rows: splitting it would copy them, so dbmaint does not; run at a quiet time: ${statement}`,
    };
  }
  return { ahead, aheadAfter, create, statement };
}

/** The planned ALTER, behind the same guards as a partition drop (lib/retention/partition-ddl.ts). */
export async function createRunway(db: DbSession, rule: RetentionRule, plan: RunwayPlan, opts: PartitionDdlOptions): Promise<PartitionAction[]> {
  if (!plan.statement || plan.create.length === 0) return [];
  const r = await guardedPartitionDdl(db, rule, { type: 'ADD_PARTITION', sql: plan.statement, extra: { partitions: plan.create.map((c) => c.name) } }, opts);
  if (!r.done) return plan.create.map((c) => ({ partition: c.name, action: 'skipped', rows: 0, reason: r.reason }));
  opts.log.info('future partitions created', { table: `${rule.schema}.${rule.table}`, partitions: plan.create.map((c) => c.name) });
  return plan.create.map((c) => ({ partition: c.name, action: 'created', rows: 0 }));
}
