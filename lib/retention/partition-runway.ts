// Future partitions of a rule's RANGE-partitioned table: `partitioning: { interval, ahead }` keeps that many, added as metadata changes only (ADD PARTITION, or splitting an empty MAXVALUE partition).
import type { DbSession } from '../db/connection';
import { errno, sqlMessage } from '../db/errors';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import { blockingHolders, describeHolder, lockVisibility, tableLockHolders } from '../maintenance/metadata-locks';
import type { RunLog } from '../runlog/command-log';
import type { Log } from '../runtime/log';
import { codecOf, dayOf, type TablePartition } from './partition-bounds';
import type { PartitionAction, RetentionRule } from './rule-result';

const DAY_MS = 86_400_000;

type Interval = 'day' | 'week' | 'month';

function next(d: Date, interval: Interval): Date {
  if (interval === 'day') return new Date(d.getTime() + DAY_MS);
  if (interval === 'week') return new Date(d.getTime() + 7 * DAY_MS);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}

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
  const after = next(current, want.interval).getTime();
  const ahead = lowerBounds.filter((lb) => lb !== undefined && lb.getTime() >= after).length;
  const target = (() => {
    let d = after;
    for (let i = 0; i < want.ahead; i++) d = next(new Date(d), want.interval).getTime();
    return d; // the last bound needed: `ahead` whole intervals after the current one
  })();
  const names = new Set(parts.map((p) => p.name));
  const create: { name: string; lessThan: string; from: string }[] = [];
  let last = bounds.at(-1) ?? current;
  // Bounds below the current interval (a runway that ran out) are filled from the last one: inserts there would fail.
  while (last.getTime() < target && create.length < 400) {
    const from = last;
    const to = next(from, want.interval);
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

/** The planned ALTER, behind the same guards as a partition drop: a busy table is skipped, the lock waited for briefly. */
export async function createRunway(db: DbSession, rule: RetentionRule, plan: RunwayPlan, opts: { lockWaitSeconds: number; runLog: RunLog; log: Log }): Promise<PartitionAction[]> {
  if (!plan.statement || plan.create.length === 0) return [];
  const visibility = await lockVisibility(db);
  const holders = visibility === 'none' ? [] : blockingHolders(await tableLockHolders(db, visibility, rule.schema, rule.table), opts.lockWaitSeconds);
  const skipped = (reason: string) => plan.create.map((c): PartitionAction => ({ partition: c.name, action: 'skipped', rows: 0, reason }));
  if (holders.length) return skipped(`busy: held by ${holders.map(describeHolder).join(', ')}`);
  const [prev] = await db.query<{ v: number }>('SELECT @@SESSION.lock_wait_timeout AS v');
  await db.exec('SET SESSION lock_wait_timeout = ?', [opts.lockWaitSeconds]);
  try {
    await opts.runLog.command({ type: 'ADD_PARTITION', sql: plan.statement, schema: rule.schema, table: rule.table, extra: { partitions: plan.create.map((c) => c.name) } }, () => db.exec(plan.statement!));
  } catch (err) {
    if (errno(err) === undefined) throw err;
    opts.log.warn('future partitions not created', { table: `${rule.schema}.${rule.table}`, errno: errno(err), error: sqlMessage(err) });
    return skipped(errno(err) === 1205 ? `busy: metadata lock not granted within ${opts.lockWaitSeconds} s; nothing changed` : sqlMessage(err));
  } finally {
    await db.exec('SET SESSION lock_wait_timeout = ?', [Number(prev?.v ?? 31_536_000)]).catch(() => undefined);
  }
  opts.log.info('future partitions created', { table: `${rule.schema}.${rule.table}`, partitions: plan.create.map((c) => c.name) });
  return plan.create.map((c) => ({ partition: c.name, action: 'created', rows: 0 }));
}
