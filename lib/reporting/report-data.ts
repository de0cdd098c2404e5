// What the mailed reports are made of: compact digests of task runs plus statistics and recommendations.
import type { Recommendation } from '../recommend/types';

/** One line of a task run: a table (or rule) and what happened to it. */
export interface TaskDigestRow {
  readonly table: string;
  readonly action: string;
  readonly rows?: number;
  readonly remaining?: number | null;
  readonly reclaimedBytes?: number;
  readonly beforeBytes?: number;
  readonly afterBytes?: number;
  readonly durationSeconds?: number;
  readonly detail?: string;
}

export type DigestStatus = 'succeeded' | 'failed' | 'stopped-at-deadline' | 'skipped' | 'deferred';

/** A task run reduced to what a report shows (stored per run in the task-run table). */
export interface TaskRunDigest {
  readonly task: string;
  readonly target: string;
  readonly runId: string | null;
  readonly status: DigestStatus;
  readonly dryRun: boolean;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly error?: string;
  /** One sentence, e.g. "deleted 1,204,331 rows in 3 tables, 12,000 remaining". */
  readonly headline: string;
  readonly rows: readonly TaskDigestRow[];
  /** recommendations runs: the items (top ones), so reports need not compute them again. */
  readonly recommendations?: readonly Recommendation[];
  /** preflight runs: tasks that cannot work here, and the routine execution it ran in. */
  readonly blockedTasks?: readonly string[];
  readonly routineExecution?: string;
}

export interface DatabaseFigures {
  readonly totalBytes: number;
  readonly tableCount: number;
  readonly growthBytesPerDay: number | null;
  readonly daysToStorageLimit: number | null;
  readonly storageLimitBytes: number | null;
}

export interface DailyReportData {
  readonly target: string;
  readonly server?: string;
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly runs: readonly TaskRunDigest[];
  /** The routine's steps that took more than one invocation or left work when the window closed (docs/windows.md). */
  readonly window?: readonly string[];
  readonly database?: DatabaseFigures;
  /** Top recommendations, high first. */
  readonly recommendations: readonly Recommendation[];
  /** What the report could not read or record in dbmaint's own tables, each with its GRANT. */
  readonly notes?: readonly string[];
  /** The task-run table could not be read: the latest recommendations are not known. */
  readonly recommendationsUnknown?: boolean;
}

export interface TableGrowth {
  readonly table: string;
  readonly bytesStart: number | null;
  readonly bytesEnd: number;
  readonly growthBytes: number | null;
}

export interface WeeklyReportData {
  readonly target: string;
  readonly server?: string;
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly runs: readonly TaskRunDigest[];
  readonly window?: readonly string[];
  /** Database size at the first and last snapshot of the week. */
  readonly sizeStart: number | null;
  readonly sizeEnd: number | null;
  readonly growthBytesPerDay: number | null;
  readonly topTables: readonly TableGrowth[];
  readonly capacity?: { readonly limitBytes: number; readonly usedPercent: number; readonly daysToLimit: number | null };
  readonly recommendations: readonly Recommendation[];
  readonly notes?: readonly string[];
  readonly recommendationsUnknown?: boolean;
}

export interface AlertCondition {
  /** De-duplication key: `rec:<code>:<object>` or `failed:<task>`. */
  readonly key: string;
  readonly kind: 'recommendation' | 'task-failed';
  readonly title: string;
  readonly detail: string;
}

export interface AlertData {
  readonly target: string;
  readonly generatedAt: string;
  readonly conditions: readonly AlertCondition[];
}

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}
