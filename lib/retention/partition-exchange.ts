// Archive rules on RANGE-partitioned tables: each expired partition swapped out whole into a staging table (EXCHANGE PARTITION), moved on into the archive by the row engine, then dropped; resumable after a kill between any two statements.
import { createHash } from 'node:crypto';
import type { DbSession } from '../db/connection';
import { errno, sqlMessage } from '../db/errors';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import { withLockWaitTimeout } from '../db/session-lock-wait';
import type { RunLog } from '../runlog/command-log';
import type { Log } from '../runtime/log';
import type { TablePartition } from './partitions';
import type { PartitionAction, RetentionRule, RuleResult } from './rule-result';

/** The sequence's steps, in order: a test kills the run after any of them (faults.afterPartitionStep). */
export type ExchangeStep = 'staging-created' | 'exchanged' | 'moved' | 'partition-dropped' | 'staging-dropped';

/** The staging table of one partition: a fixed name (a rerun finds it), short whatever the table's and partition's names. */
function stagingTableName(schema: string, table: string, partition: string): string {
  return `_dbmx_${createHash('sha1').update(`${schema}\u0000${table}\u0000${partition}`).digest('hex').slice(0, 20)}`;
}

function stagingComment(schema: string, table: string, partition: string): string {
  return `dbmaint staging of ${schema}.${table} partition ${partition}`;
}

export interface ExchangeOptions {
  readonly lockWaitSeconds: number;
  readonly runLog: RunLog;
  readonly log: Log;
  /** The row engine over the staging table (the rule with the staging table as its source): its chunks move the rows on. */
  moveStaging(stagingTable: string): Promise<RuleResult>;
  readonly faults?: { readonly afterPartitionStep?: (step: ExchangeStep, partition: string) => Promise<void> };
}

async function exists(db: DbSession, schema: string, table: string): Promise<boolean> {
  const [row] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [schema, table]);
  return Number(row?.n) > 0;
}

async function isEmpty(db: DbSession, from: string): Promise<boolean> {
  const [row] = await db.query<{ one: number }>(`SELECT 1 AS one FROM ${from} LIMIT 1`);
  return row === undefined;
}

/** Staging tables a killed run left for this table (found by their comment), with their partition. */
async function leftovers(db: DbSession, rule: RetentionRule): Promise<{ staging: string; partition: string }[]> {
  const prefix = stagingComment(rule.schema, rule.table, '');
  const rows = await db.query<{ name: string; comment: string }>(
    "SELECT TABLE_NAME AS name, TABLE_COMMENT AS comment FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE '\\_dbmx\\_%'",
    [rule.schema],
  );
  return rows.filter((r) => r.comment.startsWith(prefix)).map((r) => ({ staging: r.name, partition: r.comment.slice(prefix.length) }));
}

/**
 * Each expired partition, oldest first, and first whatever a killed run left: every row is at every moment in exactly one of
 * the source partition, the staging table or the archive.
 *  1. CREATE TABLE staging LIKE source; ALTER TABLE staging … REMOVE PARTITIONING (empty: a rerun drops it and starts again)
 *  2. ALTER TABLE source EXCHANGE PARTITION p WITH TABLE staging (atomic: the partition's rows are now the staging table's)
 *  3. the row engine archives the staging table chunk by chunk (each chunk one transaction, checksummed)
 *  4. under LOCK TABLES source WRITE: the partition is still empty (an old row written into it since stays for the row
 *     engine), then ALTER TABLE source DROP PARTITION p
 *  5. DROP TABLE staging (empty)
 */
export async function exchangePartitions(db: DbSession, rule: RetentionRule, expired: readonly TablePartition[], opts: ExchangeOptions): Promise<{ actions: PartitionAction[]; rowsArchived: number; stopped: boolean; failed?: string }> {
  const source = qualifiedName(rule.schema, rule.table);
  const name = `${rule.schema}.${rule.table}`;
  const actions: PartitionAction[] = [];
  let rowsArchived = 0;
  const step = async (s: ExchangeStep, partition: string) => opts.faults?.afterPartitionStep?.(s, partition);
  const ddl = (type: string, sql: string, partition: string) => opts.runLog.command({ type, sql, schema: rule.schema, table: rule.table, extra: { partition } }, () => db.exec(sql));
  try {
    return await withLockWaitTimeout(db, opts.lockWaitSeconds, async () => {
      const left = await leftovers(db, rule);
      const todo = [...left.map((l) => l.partition), ...expired.map((p) => p.name).filter((p) => !left.some((l) => l.partition === p))];
      const current = new Set(expired.map((p) => p.name));
      for (const partition of todo) {
        const started = Date.now();
        const stagingName = stagingTableName(rule.schema, rule.table, partition);
        const staging = qualifiedName(rule.schema, stagingName);
        let stagingExists = await exists(db, rule.schema, stagingName);
        const partitionExists = current.has(partition) || (await partitionStillThere(db, rule, partition));
        // An empty staging table beside a partition that still has its rows: a run killed before (or just after) creating it.
        if (stagingExists && partitionExists && (await isEmpty(db, staging)) && !(await isEmpty(db, `${source} PARTITION (${quoteIdentifier(partition)})`))) {
          await ddl('DROP_STAGING', `DROP TABLE ${staging}`, partition);
          stagingExists = false;
        }
        try {
          if (!stagingExists) {
            if (!partitionExists) continue;
            await ddl('CREATE_STAGING', `CREATE TABLE ${staging} LIKE ${source}`, partition);
            await ddl('CREATE_STAGING', `ALTER TABLE ${staging} COMMENT = '${stagingComment(rule.schema, rule.table, partition).replace(/'/g, "''")}' REMOVE PARTITIONING`, partition);
            await step('staging-created', partition);
            await ddl('EXCHANGE_PARTITION', `ALTER TABLE ${source} EXCHANGE PARTITION ${quoteIdentifier(partition)} WITH TABLE ${staging}`, partition);
            await step('exchanged', partition);
          }
          const moved = await opts.moveStaging(stagingName);
          rowsArchived += moved.rowsArchived;
          if (moved.status !== 'completed' || !(await isEmpty(db, staging))) {
            const failed = moved.status === 'failed' || moved.status === 'refused';
            actions.push({ partition, action: 'skipped', rows: moved.rowsArchived, reason: `staging table ${rule.schema}.${stagingName} not yet empty (${moved.status}${moved.message ? `: ${moved.message}` : ''}); the next run goes on` });
            return { actions, rowsArchived, stopped: true, ...(failed ? { failed: moved.message ?? moved.status } : {}) };
          }
          await step('moved', partition);
          if (partitionExists) await dropIfEmpty(db, rule, partition, opts.runLog);
          await step('partition-dropped', partition);
          await ddl('DROP_STAGING', `DROP TABLE ${staging}`, partition);
          await step('staging-dropped', partition);
          actions.push({ partition, action: 'exchanged', rows: moved.rowsArchived, seconds: Math.round((Date.now() - started) / 10) / 100 });
          opts.log.info('partition archived', { table: name, partition, rows: moved.rowsArchived });
        } catch (err) {
          if (errno(err) === undefined) throw err;
          // A lock not granted in time or a server refusal: the sequence stops where it is; every row is where the steps left it.
          const reason = errno(err) === 1205 ? `busy: metadata lock not granted within ${opts.lockWaitSeconds} s` : sqlMessage(err);
          actions.push({ partition, action: 'skipped', rows: 0, reason });
          opts.log.warn('partition archive stopped', { table: name, partition, errno: errno(err), error: sqlMessage(err) });
          return { actions, rowsArchived, stopped: false };
        }
      }
      return { actions, rowsArchived, stopped: false };
    });
  } finally {
    await db.exec('UNLOCK TABLES').catch(() => undefined);
  }
}

async function partitionStillThere(db: DbSession, rule: RetentionRule, partition: string): Promise<boolean> {
  const [row] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND PARTITION_NAME = ?', [rule.schema, rule.table, partition]);
  return Number(row?.n) > 0;
}

/**
 * Step 4: with the table write-locked, so that nothing can be written into the partition between the check and the drop.
 * Recorded after UNLOCK TABLES: under LOCK TABLES no other table (the run log's) can be written.
 */
async function dropIfEmpty(db: DbSession, rule: RetentionRule, partition: string, runLog: RunLog): Promise<void> {
  const source = qualifiedName(rule.schema, rule.table);
  const sql = `ALTER TABLE ${source} DROP PARTITION ${quoteIdentifier(partition)}`;
  const startedAt = new Date();
  let dropped = false;
  await db.exec(`LOCK TABLES ${source} WRITE`);
  try {
    if (await isEmpty(db, `${source} PARTITION (${quoteIdentifier(partition)})`)) {
      await db.exec(sql);
      dropped = true;
    }
  } finally {
    await db.exec('UNLOCK TABLES');
  }
  if (dropped) await runLog.recordCompleted({ type: 'DROP_PARTITION', sql, schema: rule.schema, table: rule.table, extra: { partition, rows: 0, after: 'exchange' } }, startedAt, {});
}
