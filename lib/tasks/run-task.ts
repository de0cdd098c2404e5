// Runs one catalogue task for one target: validate the event, connect, run, log, publish metrics, return a typed result.
import type { DbMaintConfig, TargetConfig } from '../config/schema';
import { openTargetSession, type DbSession } from '../db/connection';
import { EventValidationError } from '../events/schema';
import { METRIC, point, type MetricPoint } from '../metrics/names';
import { RunLog } from '../runlog/command-log';
import { silentLog } from '../runtime/log';
import { resolveTarget } from './target';
import type { BaseEvent, TaskEnvironment, TaskModule, TaskRunResult } from './task-module';
import { appliesTo, getTask, TASKS, tasksWhere, type TaskId } from '../catalogue';
import { acquireServerLock, describeHolder, ServerBusyError, type RunIdentity, type ServerLock, type ServerLockHolder } from './server-lock';
import { runDigest } from './run-digest';
import { windowProgress } from '../routines/window';
import { TaskRuns, taskRunStore } from '../runlog/task-runs';
import type { StoreProblem } from '../runlog/store-access';

function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * A routine runs the same steps for every target; a step that does not apply to this target
 * (no cleanup rules, no reports configured) or is disabled for it is skipped, not failed.
 */
function routineSkip(taskId: TaskId, event: { routine?: unknown }, target: TargetConfig, config: DbMaintConfig): string | undefined {
  if (event.routine === undefined) return undefined;
  if (target.tasks[taskId]?.enabled === false) return `disabled for target '${target.name}' (tasks.${taskId}.enabled)`;
  const task = getTask(taskId);
  if (!appliesTo(task, target, config)) return `not configured for target '${target.name}' (needs ${task.requires})`;
  return undefined;
}

/** The steps whose findings may block the later steps of a routine (preflight). */
const GATES = tasksWhere((t) => t.gatesLaterSteps === true);

/**
 * In a routine, the preflight step of the same execution may have found that this task cannot work here.
 * Without a readable task-run table the step runs anyway (and fails on its own if it cannot work).
 */
async function preflightBlock(
  db: DbSession,
  config: DbMaintConfig,
  target: string,
  taskId: TaskId,
  execution: string | undefined,
  now: Date,
  problems: (p: StoreProblem) => void,
): Promise<string | undefined> {
  if (!execution || getTask(taskId).gatesLaterSteps) return undefined;
  const runs = await new TaskRuns(db, config.runLog.schema, silentLog, problems).since(
    target,
    new Date(now.getTime() - 24 * 3_600_000),
    GATES,
    'this routine step cannot see what preflight found, and runs whatever it found',
  );
  const check = runs.reverse().find((r) => r.routineExecution === execution);
  return check?.blockedTasks?.includes(taskId) ? `preflight: ${check.headline}` : undefined;
}

/** A run's record goes to the task-run table when it was probed before the run (not a dry run) and works. */
function recordsRuns(runLog: RunLog, config: DbMaintConfig): boolean {
  return config.runLog.enabled && !runLog.context.dryRun && !runLog.unusable('task runs', 'write');
}

/** Every run that could hold the server lock in this configuration: what a busy server's holder is looked up among. */
function exclusiveRuns(config: DbMaintConfig): RunIdentity[] {
  const tasks = TASKS.filter((t) => t.serverExclusive).map((t) => t.id);
  return config.targets.flatMap((t) => tasks.map((task) => ({ target: t.name, task })));
}

/** Runs one task; the function entries pass their own module, so a bundle carries one task (lib/tasks/registry.ts has them all). */
export async function runTaskWith(task: TaskModule<BaseEvent, unknown>, rawEvent: unknown, env: TaskEnvironment): Promise<TaskRunResult> {
  // Input errors surface here, before a connection exists: nothing has run and nothing is counted as a failure.
  const event = task.parse(rawEvent);
  const target = resolveTarget(env.config, event.target);
  const result = await runParsed(task, event, target, env);
  const routine = event.routine;
  if (!routine) return result;
  // A routine step says where it stands in the maintenance window; the state machine invokes it again on `again`.
  const stopped = result.status === 'stopped-at-deadline' && !event.dryRun;
  const budget = event.maxRunSeconds ?? getTask(task.id).timeoutSeconds;
  const left = stopped && result.result !== undefined ? task.left?.(result.result, budget) : undefined;
  const window = windowProgress(env.config, target, routine, task.id, (env.now ?? (() => new Date()))(), result.durationSeconds, stopped, left);
  if (stopped) env.log.info('maintenance window', { task: task.id, target: target.name, ...window });
  return { ...result, window };
}

async function runParsed(task: TaskModule<BaseEvent, unknown>, event: BaseEvent, target: TargetConfig, env: TaskEnvironment): Promise<TaskRunResult> {
  const taskId = task.id;
  const clock = env.now ?? (() => new Date());
  const startedAt = clock();
  const base = { task: taskId, target: target.name, dryRun: event.dryRun, startedAt: startedAt.toISOString() };
  const skipped = (reason: string): TaskRunResult => {
    env.log.info('task skipped', { task: taskId, target: target.name, reason });
    return { ...base, runId: null, status: 'skipped', durationSeconds: 0, result: { headline: reason }, metrics: [] };
  };
  const skip = routineSkip(taskId, event, target, env.config);
  if (skip) return skipped(skip);
  task.validate?.(event, target);
  // A dry run changes nothing, so it neither needs the server lock nor waits for it.
  const exclusive = getTask(taskId).serverExclusive && !event.dryRun;
  /**
   * Another heavy task holds the server: a routine step throws ServerBusy so Step Functions waits and retries it; a
   * scheduled or console run returns `deferred` (the next run does the work). Neither counts as a failure, and no table
   * was touched.
   */
  const busy = (holder: ServerLockHolder): TaskRunResult => {
    const holderText = describeHolder(holder);
    const metrics = [point(METRIC.ServerBusy, 1)];
    const retried = event.source === 'dbmaint.routine';
    env.log.warn('server busy', {
      ...base,
      lock: holder.lock,
      holderConnectionId: holder.connectionId,
      holderUser: holder.user,
      holderHost: holder.host,
      holderSeconds: holder.seconds,
      holderTarget: holder.run?.target ?? null,
      holderTask: holder.run?.task ?? null,
      holder: holderText,
      outcome: retried ? 'ServerBusy thrown: the routine retries this step' : 'deferred',
    });
    env.metrics.publish(taskId, target.name, metrics);
    const headline = `deferred: another heavy task runs on this server; ${holderText}`;
    const result: TaskRunResult = { ...base, runId: null, status: 'deferred', durationSeconds: 0, result: { headline, holder }, metrics };
    if (retried) throw Object.assign(new ServerBusyError(`${taskId} for target '${target.name}' waits: ${holderText}`, holder), { taskResult: result });
    return result;
  };

  const t0 = Date.now();
  const deadline = env.deadline.capped(event.maxRunSeconds);
  const log = env.log;
  log.info('task started', { ...base, deadlineInMs: Math.round(deadline.remainingMs()) });

  let db: DbSession | undefined;
  let serverLock: ServerLock | undefined;
  let runLog: RunLog | undefined;
  let result: TaskRunResult;
  let tableMetrics: readonly { table: string; points: readonly MetricPoint[] }[] = [];
  try {
    db = await openTargetSession(env.credentials, target.secretArn, env.config.session, target.tls);
    const early: StoreProblem[] = [];
    const blocked = await preflightBlock(db, env.config, target.name, taskId, event.routine?.execution, startedAt, (p) => early.push(p));
    if (blocked) {
      await db.close();
      return skipped(blocked);
    }
    if (exclusive) {
      // Before the run log is prepared: a deferred run creates and writes nothing. Held until the end of the task.
      const got = await acquireServerLock(db, env.config.runLog.schema, { target: target.name, task: taskId }, () => exclusiveRuns(env.config));
      if ('holder' in got) {
        await db.close();
        return busy(got.holder);
      }
      serverLock = got.lock;
    }
    runLog = new RunLog(db, env.config.runLog, { task: taskId, target: target.name, dryRun: event.dryRun }, log);
    // Before the task moves a row: the run log and the task-run record either work, or the run is JSON-only from the start.
    await runLog.prepare([taskRunStore(env.config.runLog.schema)]);
    for (const p of early) runLog.note(p);
    const outcome = await task.run({
      db,
      credentials: env.credentials,
      runLog,
      config: env.config,
      target,
      event,
      deadline,
      log,
      now: startedAt,
      ...(env.mailer ? { mailer: env.mailer } : {}),
    });
    tableMetrics = outcome.tableMetrics ?? [];
    const durationSeconds = round((Date.now() - t0) / 1000);
    const failed = outcome.status === 'failed';
    const metrics = [
      point(METRIC.TaskSucceeded, failed ? 0 : 1),
      point(METRIC.TaskFailed, failed ? 1 : 0),
      point(METRIC.DurationSeconds, durationSeconds),
      point(METRIC.StoppedAtDeadline, outcome.status === 'stopped-at-deadline' ? 1 : 0),
      ...(env.config.runLog.enabled ? [point(METRIC.RunLogUnavailable, runLog.problems.length > 0 ? 1 : 0)] : []),
      ...outcome.metrics,
    ];
    result = {
      ...base,
      runId: runLog.runId,
      status: outcome.status,
      durationSeconds,
      server: db.describe(),
      result: outcome.result,
      metrics,
      // Only where the commands really are: a run log that could not be written is named in the notes instead.
      ...(env.config.runLog.enabled && !runLog.unusable('run log', 'write') ? { runLogTable: runLog.tableName } : {}),
      ...(runLog.notes.length ? { notes: [...runLog.notes] } : {}),
    };
    if (recordsRuns(runLog, env.config)) await new TaskRuns(db, env.config.runLog.schema, log).record(runDigest(result, task, event.routine?.execution));
  } catch (err) {
    // Not a failure: the routine's Retry runs the step again once the server is free (the session is closed already).
    if (err instanceof ServerBusyError) throw err;
    if (err instanceof EventValidationError) {
      // A named table that does not exist is an input error found after connecting: no run, but the session must not leak.
      await db?.close();
      throw err;
    }
    const durationSeconds = round((Date.now() - t0) / 1000);
    const metrics = [point(METRIC.TaskSucceeded, 0), point(METRIC.TaskFailed, 1), point(METRIC.DurationSeconds, durationSeconds)];
    const message = (err as Error).message;
    log.error('task failed', { ...base, error: message, errorName: (err as Error).name });
    env.metrics.publish(taskId, target.name, metrics);
    const notes = runLog?.notes.length ? { notes: [...runLog.notes] } : {};
    const failed: TaskRunResult = { ...base, runId: runLog?.runId ?? null, status: 'failed', durationSeconds, error: message, metrics, ...notes };
    // The session may be what failed; then the report learns of this run from the routine's step outcomes instead.
    if (db && runLog && recordsRuns(runLog, env.config)) await new TaskRuns(db, env.config.runLog.schema, log).record(runDigest(failed, task, event.routine?.execution));
    await db?.close();
    throw Object.assign(err as Error, { taskResult: failed });
  }
  await serverLock?.release();
  await db.close();
  env.metrics.publish(taskId, target.name, result.metrics);
  for (const t of tableMetrics) env.metrics.publish(taskId, target.name, t.points, t.table);
  log.info('task finished', { ...base, status: result.status, durationSeconds: result.durationSeconds, runId: result.runId });
  return result;
}
