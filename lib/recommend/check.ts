// The contract between the recommendations engine and its checks, and the reads they share within one run.
import type { RecommendationSettings, Thresholds } from '../config/schema';
import type { DbSession } from '../db/connection';
import type { RetentionRule } from '../retention/engine';
import type { StoreProblem } from '../runlog/store-access';
import type { TableSize } from '../stats/sizes';
import type { RebuildRate } from '../maintenance/rebuild-rate';
import type { TableIndexes } from './index-catalogue';
import type { Priority, Recommendation } from './types';

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;
export const DAY_MS = 86_400_000;

/** What a check found, or why it could not look (said in the result, never an empty list that reads as "all well"). */
export type CheckOutcome = { readonly items: readonly Recommendation[]; readonly note?: string } | { readonly skipped: string };

/** What one run of the engine is asked to look at, and with which limits: every check reads it from its context. */
export interface RecommendOptions {
  readonly schemas: readonly string[];
  /** Target name (history rows are keyed by it). */
  readonly target: string;
  readonly settings: RecommendationSettings;
  /** fragmentationPercent, optimizeMinSizeMb, analyzeAfterDays. */
  readonly thresholds: Thresholds;
  readonly retentionRules: readonly RetentionRule[];
  /** Statistics history schema; it may not exist yet, and then the growth checks are skipped with a note. */
  readonly historySchema: string;
  readonly storageLimitBytes?: number;
  readonly growthWindowDays: number;
  readonly minHistoryHours: number;
  readonly now: Date;
  /** Where an unreadable statistics history is reported (the run's notes); the growth checks say "skipped". */
  readonly problems?: (p: StoreProblem) => void;
  /**
   * The server advisor's sampling (two SHOW GLOBAL STATUS an interval apart); without it its checks report nothing (status
   * is server-wide: a caller judging one schema's tables alone need not wait for it). `betweenSamples`: a test's workload.
   */
  readonly advisor?: { readonly sampleSeconds: number; readonly betweenSamples?: () => Promise<void> };
  /**
   * The target's configured replicas (replicaSecretArns; Aurora reader instances listed there too), opened on first use by
   * the caller, who closes them: REPLICA_LAG reads their state, UNUSED_INDEX merges their index usage.
   */
  readonly replicas?: () => Promise<readonly ReplicaNode[]>;
  /** alarms.partitionsAheadBelow: PARTITION_RUNWAY's floor for rules with `partitioning`. */
  readonly partitionsAheadBelow?: number;
  /** What REBUILD_TOO_LARGE needs: the estimate's rate, one invocation's budget, the tables rebuilt by name, the by-hand commands. */
  readonly rebuild?: RebuildLimits;
}

/** One configured replica: its session, or why it could not be opened. */
export interface ReplicaNode {
  readonly name: string;
  readonly session?: DbSession;
  readonly error?: string;
}

export interface RebuildLimits {
  readonly rate: RebuildRate;
  /** The time budget of one optimize-tables / rebuild-indexes invocation in the routines (seconds). */
  readonly budgetSeconds: number;
  /** config.longRunner.enabled: the routine hands such tables to it, so there is nothing to recommend. */
  readonly longRunner: boolean;
  /** The target's rebuildTables, resolved. */
  readonly rebuildTables: readonly { readonly schema: string; readonly table: string }[];
  commands(schema: string, table: string): { readonly ptOsc: string; readonly ghost: string };
}

export interface Check {
  readonly code: string;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}

/** Catalogue reads several checks need: each is done at most once per run, and only when a check asks for it. */
export interface CheckContext {
  readonly db: DbSession;
  readonly opts: RecommendOptions;
  sizes(): Promise<readonly TableSize[]>;
  indexes(): Promise<ReadonlyMap<string, TableIndexes>>;
  performanceSchema(): Promise<boolean>;
  /** Undefined when the statistics history can be read; else why not (errno 1146: not created yet). */
  historyReadable(): Promise<{ readonly errno: number; readonly reason: string } | undefined>;
}

/** Lazily computed and shared; a rejection is shared too, so every dependent check reports the same reason. */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** A read shared by several checks of one module, done once per run (the context is the run). */
export function perRun<T>(fn: (ctx: CheckContext) => Promise<T>): (ctx: CheckContext) => Promise<T> {
  const runs = new WeakMap<CheckContext, Promise<T>>();
  return (ctx) => {
    let p = runs.get(ctx);
    if (!p) runs.set(ctx, (p = fn(ctx)));
    return p;
  };
}

// Declared in types.ts, the leaf, so that index-catalogue (which keys its map by it) need not import this module; the checks import it from here.
export { tableKey } from './types';

/** ER_NO_SUCH_TABLE: e.g. a performance_schema table this server build does not have. */
export function isMissingTable(err: unknown): boolean {
  return Number((err as { errno?: unknown }).errno) === 1146;
}

export function errorText(err: unknown): string {
  const e = err as { sqlMessage?: string; message?: string; code?: string };
  const text = e.sqlMessage ?? e.message ?? String(err);
  return e.code ? `${e.code}: ${text}` : text;
}

export function round(n: number, decimals = 2): number {
  const f = 10 ** decimals;
  return Math.round(n * f) / f;
}

export function mib(bytes: number): string {
  return `${round(bytes / MIB, 1)} MiB`;
}

export function gib(bytes: number): string {
  return `${round(bytes / GIB, 2)} GiB`;
}

/** "3.2 days" or, for a recent restart, "5.1 hours": counters since then say little about a weekly job. */
export function uptimeText(seconds: number): string {
  return seconds >= 86_400 ? `${round(seconds / 86_400, 1)} days` : `${round(seconds / 3600, 1)} hours`;
}

export function item(
  code: string,
  priority: Priority,
  object: string,
  message: string,
  evidence: Recommendation['evidence'],
  fix?: string,
): Recommendation {
  return { code, priority, object, message, evidence, ...(fix !== undefined ? { fix } : {}) };
}
