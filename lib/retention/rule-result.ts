// What a retention rule is, what a run of it is given, and what it reports: shared by the planner, the walk and the engine.
import type { DateFormat, PurgeSettings, Walk, WhereClause } from '../config/schema';
import type { DbSession } from '../db/connection';
import type { LockDiagnosis, LockWatch } from '../db/lock-diagnostics';
import type { RunLog } from '../runlog/command-log';
import type { Deadline } from '../runtime/deadline';
import type { Log } from '../runtime/log';
import type { ChildRowCount } from './cascade';
import type { ChildTable } from './inspect';
import type { RowBudget } from './row-budget';
import type { ChunkSizing } from './row-bytes';
import type { Throttle } from './throttle';

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
  /** Keep this many future partitions of this interval (lib/retention/partition-runway.ts). */
  readonly partitioning?: { readonly interval: 'day' | 'week' | 'month'; readonly ahead: number };
}

/** What became of one partition: dropped (its rows counted just before), would be (dry run), or left to the row engine and why. */
export interface PartitionAction {
  readonly partition: string;
  readonly action: 'dropped' | 'would-drop' | 'exchanged' | 'would-exchange' | 'created' | 'would-create' | 'skipped';
  readonly rows: number;
  readonly rowsEstimated?: boolean;
  readonly reason?: string;
  readonly seconds?: number;
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
  /** Whole expired partitions dropped (or, in a dry run, that would be) before the row walk (lib/retention/partitions.ts). */
  partitions?: PartitionAction[];
  /** A partitioned table whose partitions the rule cannot drop whole: why (the row engine purges it). */
  partitionPath?: string;
  /** Rules with `partitioning`: future partitions after this run (PartitionsAhead), and why none could be created when so. */
  partitionsAhead?: number;
  runwayProblem?: string;
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
  /** purge.maxRowsPerRun, shared by the run's rules: the walk stops (`stopped-at-deadline`, work left) once it is spent. */
  readonly rowBudget?: RowBudget;
  /**
   * Test-only fault injection: `betweenInsertAndDelete` runs inside an archive chunk's transaction, between INSERT and
   * DELETE; `afterPartitionStep` after each step of a partition's exchange into the archive (lib/retention/partition-exchange.ts).
   */
  readonly faults?: {
    readonly betweenInsertAndDelete?: (chunk: number) => Promise<void>;
    readonly afterPartitionStep?: (step: 'staging-created' | 'exchanged' | 'moved' | 'partition-dropped' | 'staging-dropped', partition: string) => Promise<void>;
  };
}

/** Seconds and ratios as results and logs report them. */
export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
