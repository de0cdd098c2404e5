// The recommendations engine: run every check against one target, each one skipped (and saying why) rather than failing the run.
import { rebuildTooLarge } from './checks/rebuild';
import { analyzeFlushStall, binlogFormat, versionEndOfLife } from './checks/server-version';
import { binlogRetention, replicaLag } from './checks/replication';
import { bufferPoolTooSmall, logBufferWaitsCheck, longTransactions, redoLogTooSmall, sortMergePasses, tableCacheMisses, threadCacheMisses, tmpTablesToDisk } from './checks/advisor';
import { partitionCandidates, partitionRunway } from './checks/partitions';
import type { DbSession } from '../db/connection';
import { SCHEMA_HISTORY, StatisticsHistory, TABLE_HISTORY } from '../stats/history';
import { readTableSizes } from '../stats/sizes';
import { isPrivilegeError } from '../db/privileges';
import { errorText, once, type Check, type CheckContext, type CheckOutcome, type RecommendOptions } from './check';
import { rapidGrowth, storageHorizon } from './checks/growth';
import { duplicateIndexes, redundantIndexes, unusedIndexes } from './checks/indexes';
import { purgeFallingBehind, retentionDateUnindexed, retentionDateUnusable } from './checks/retention';
import { connectionUsage, slowStatements } from './checks/server';
import { autoIncrementExhaustion, fragmentedTables, largeTables, missingPrimaryKeys, nonInnoDbTables, staleStatistics } from './checks/tables';
import { readIndexes } from './index-catalogue';
import { PRIORITIES, type CheckStatus, type Priority, type Recommendation, type RecommendationsResult } from './types';

// Declared with the check contract (CheckContext carries it), so that check.ts need not import the engine; re-exported for callers.
export type { RecommendOptions };

/** In this order within a priority. */
const CHECKS: readonly Check[] = [
  fragmentedTables,
  largeTables,
  rapidGrowth,
  storageHorizon,
  autoIncrementExhaustion,
  missingPrimaryKeys,
  nonInnoDbTables,
  duplicateIndexes,
  redundantIndexes,
  unusedIndexes,
  staleStatistics,
  retentionDateUnusable,
  retentionDateUnindexed,
  purgeFallingBehind,
  rebuildTooLarge,
  partitionCandidates,
  partitionRunway,
  connectionUsage,
  bufferPoolTooSmall,
  redoLogTooSmall,
  logBufferWaitsCheck,
  tmpTablesToDisk,
  tableCacheMisses,
  threadCacheMisses,
  sortMergePasses,
  longTransactions,
  replicaLag,
  binlogFormat,
  binlogRetention,
  versionEndOfLife,
  analyzeFlushStall,
  slowStatements,
];

export const CHECK_CODES: readonly string[] = CHECKS.map((c) => c.code);

function context(db: DbSession, opts: RecommendOptions): CheckContext {
  return {
    db,
    opts,
    sizes: once(() => readTableSizes(db, { schemas: opts.schemas })),
    indexes: once(() => readIndexes(db, opts.schemas)),
    performanceSchema: once(async () => {
      const [row] = await db.query<{ on: number | string }>('SELECT @@performance_schema AS `on`');
      return ['1', 'ON'].includes(String(row?.on ?? '0').toUpperCase());
    }),
    historyReadable: once(async () => {
      const why = await new StatisticsHistory(db, opts.historySchema, opts.target).readable();
      if (why && why.errno !== 1146) {
        const consequence = 'the growth and storage-horizon checks are skipped';
        opts.problems?.({ store: 'statistics history', use: 'read', schema: opts.historySchema, tables: [TABLE_HISTORY, SCHEMA_HISTORY], reason: why.reason, privileges: ['SELECT'], consequence });
      }
      return why;
    }),
  };
}

/** High first, then medium, then low; a stable sort keeps the order of the checks within a priority. */
function byPriority(items: readonly Recommendation[]): Recommendation[] {
  return [...items].sort((a, b) => PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority));
}

export async function generateRecommendations(db: DbSession, opts: RecommendOptions): Promise<RecommendationsResult> {
  const ctx = context(db, opts);
  const found: Recommendation[] = [];
  const checks: CheckStatus[] = [];
  for (const check of CHECKS) {
    let outcome: CheckOutcome;
    try {
      outcome = await check.run(ctx);
    } catch (err) {
      // A missing grant narrows what can be told; anything else is a fault and fails the run.
      if (!isPrivilegeError(err)) throw err;
      outcome = { skipped: errorText(err) };
    }
    if ('skipped' in outcome) {
      checks.push({ code: check.code, status: 'skipped', note: outcome.skipped });
    } else {
      found.push(...outcome.items);
      checks.push({ code: check.code, status: 'ran', ...(outcome.note ? { note: outcome.note } : {}) });
    }
  }
  const items = byPriority(found);
  const counts = Object.fromEntries(PRIORITIES.map((p) => [p, items.filter((i) => i.priority === p).length])) as Record<Priority, number>;
  return { items, counts, checks };
}
