// What a task is to the code that runs it: its event, its run, its stored digest and its text summary, and the types they share.
import type * as z from 'zod';
import type { TaskGraphs, TaskId } from '../catalogue';
import type { DbMaintConfig, TargetConfig } from '../config/schema';
import type { DbSession } from '../db/connection';
import type { CredentialSource } from '../db/credentials';
import { parseEvent } from '../events/schema';
import type { MetricsPublisher } from '../metrics/emf';
import type { MetricPoint } from '../metrics/names';
import type { Recommendation } from '../recommend/types';
import type { MailSender } from '../reporting/mail/sender';
import type { TaskDigestRow } from '../reporting/report-data';
import type { RunLog } from '../runlog/command-log';
import type { Deadline } from '../runtime/deadline';
import type { Log } from '../runtime/log';
import type { WindowProgress, WorkLeft } from '../routines/window';

export interface BaseEvent {
  /** Who sent it: a routine's step (Step Functions retries it), the scheduler; absent from the console. */
  readonly source?: 'dbmaint.scheduler' | 'dbmaint.routine';
  readonly target?: string;
  readonly routine?: { readonly id: string; readonly execution?: string; readonly startedAt?: string; readonly invocations?: number; readonly secondsSoFar?: number };
  readonly dryRun: boolean;
  readonly maxRunSeconds?: number;
}

export interface TaskEnvironment {
  readonly config: DbMaintConfig;
  readonly credentials: CredentialSource;
  readonly metrics: MetricsPublisher;
  readonly log: Log;
  /** The invocation's deadline (Lambda remaining time less a margin). */
  readonly deadline: Deadline;
  readonly now?: () => Date;
  /** SES (or a test double); only mail-sending tasks use it. */
  readonly mailer?: MailSender;
}

/** `deferred`: not started because another heavy task runs on the server (lib/tasks/server-lock.ts); the next run does it. */
export type TaskStatus = 'succeeded' | 'failed' | 'stopped-at-deadline' | 'skipped' | 'deferred';

export interface TaskRunResult<R = unknown> {
  readonly task: TaskId;
  readonly target: string;
  readonly runId: string | null;
  readonly dryRun: boolean;
  readonly status: TaskStatus;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly server?: string;
  readonly result?: R;
  readonly error?: string;
  readonly metrics: readonly MetricPoint[];
  readonly runLogTable?: string;
  /** Set on what a function returns: items left out per list (path → count); see lib/tasks/bounded-result.ts. */
  readonly omitted?: Readonly<Record<string, number>>;
  /** What this run could not record or read in dbmaint's own tables, each with the GRANT that fixes it. */
  readonly notes?: readonly string[];
  /** A routine step: where it stands in the maintenance window, and whether the routine invokes it again. */
  readonly window?: WindowProgress;
}

/** What a task implementation gets: an open session and everything resolved from config and event. */
export interface TaskContext<E> {
  readonly db: DbSession;
  /** For tasks that open further sessions (replica lag checks). */
  readonly credentials: CredentialSource;
  readonly runLog: RunLog;
  readonly config: DbMaintConfig;
  readonly target: TargetConfig;
  readonly event: E;
  readonly deadline: Deadline;
  readonly log: Log;
  readonly now: Date;
  readonly mailer?: MailSender;
}

export interface TaskOutcome<R> {
  readonly result: R;
  readonly status: TaskStatus;
  readonly metrics: readonly MetricPoint[];
  /** Figures per table (dimension Table), e.g. one purge rule each. */
  readonly tableMetrics?: readonly { readonly table: string; readonly points: readonly MetricPoint[] }[];
}

/** A result reduced to what a report shows of it: one headline and a row per table, rule or capability. */
export interface DigestBody {
  readonly headline: string;
  readonly rows: readonly TaskDigestRow[];
  /** Kept for the reports (recommendations, and what preflight found). */
  readonly recommendations?: readonly Recommendation[];
  /** Tasks the routine skips after this step (preflight). */
  readonly blockedTasks?: readonly string[];
}

/**
 * One task: everything about it that is not configuration (that is its catalogue entry in lib/catalogue.ts). The function
 * entry imports its module alone, so a bundle carries one task; lib/tasks/registry.ts lists them all.
 */
export interface TaskModule<E extends BaseEvent, R> {
  readonly id: TaskId;
  /** What it does, for the README's task table and docs (bin/gen-docs.ts); here rather than in the catalogue, so a bundle carries its own alone. */
  readonly description: string;
  /** Its graphs on the dashboard (infra/constructs/dashboard.ts), likewise. */
  readonly dashboard?: TaskGraphs;
  /** The payload it accepts: parsing uses it, and the local CLI checks its flags against its fields. */
  readonly eventSchema: z.ZodObject;
  parse(raw: unknown): E;
  /** Static checks of the event against the target's configuration (no SQL). */
  validate?(event: E, target: TargetConfig): void;
  run(ctx: TaskContext<E>): Promise<TaskOutcome<R>>;
  /** What the task-run table stores of a result, for reports and later runs. */
  digest(result: R): DigestBody;
  /** The plain-text rendering of a result for the local runner and the demo. */
  summary(result: R): string;
  /** After a run that stopped with work left: what is left, and whether one more invocation can get further. */
  left?(result: R, budgetSeconds: number): WorkLeft | undefined;
}

/** A module from its parts: parsing is the event schema's, with the task's id in the errors. */
export function defineTask<S extends z.ZodObject, R>(parts: Omit<TaskModule<z.output<S> & BaseEvent, R>, 'parse' | 'eventSchema'> & { readonly eventSchema: S }): TaskModule<z.output<S> & BaseEvent, R> {
  return { ...parts, parse: (raw) => parseEvent(parts.eventSchema, raw, parts.id) as z.output<S> & BaseEvent };
}

/** Erases a module's event and result types, for code that runs any task. */
export function anyTask<E extends BaseEvent, R>(module: TaskModule<E, R>): TaskModule<BaseEvent, unknown> {
  return module as unknown as TaskModule<BaseEvent, unknown>;
}
