// The local runner's exit status: 0 done, 1 the task failed, 2 invalid input, 3 the database or AWS could not be reached.
import { DatabaseConnectError } from '../lib/db/connection';
import { CredentialsError } from '../lib/db/credentials';
import { InputError } from '../lib/validation/input-error';
import type { RoutineResult } from '../lib/routines/run-routine';
import type { TaskStatus } from '../lib/tasks/task-module';
import { UsageError } from './local-runner';

export const EXIT = { succeeded: 0, failed: 1, invalidInput: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * mysql2 codes meaning the session is gone or was never granted: the network or server is down, the account is
 * refused at login, the server is full. Not here, on purpose: privilege errors on a statement (ER_TABLEACCESS_DENIED_ERROR,
 * ER_DBACCESS_DENIED_ERROR on CREATE DATABASE, ER_SPECIFIC_ACCESS_DENIED_ERROR…), lock timeouts and SQL errors: the
 * session worked, the task failed (exit 1). At login every refusal is a DatabaseConnectError, whatever its code.
 */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  // The server is not there, or the connection went away mid-run.
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  // The server refuses the session itself.
  'ER_ACCESS_DENIED_ERROR',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_HOST_IS_BLOCKED',
  'ER_HOST_NOT_PRIVILEGED',
  'ER_MUST_CHANGE_PASSWORD',
  'ER_MUST_CHANGE_PASSWORD_LOGIN',
  'ER_ACCOUNT_HAS_BEEN_LOCKED',
]);

/** The same by server error number, for codes mysql2 names after MySQL's list: 1927 is MariaDB's ER_CONNECTION_KILLED. */
const UNREACHABLE_ERRNOS: ReadonlySet<number> = new Set([1040, 1045, 1053, 1129, 1130, 1203, 1820, 1862, 1927, 3118, 4031, 4151]);

function isUnreachable(err: unknown): boolean {
  if (err instanceof DatabaseConnectError || err instanceof CredentialsError) return true;
  const e = err as { code?: unknown; errno?: unknown; fatal?: unknown; message?: unknown };
  if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
  if (typeof e.errno === 'number' && UNREACHABLE_ERRNOS.has(e.errno)) return true;
  // mysql2 marks connection-level failures fatal; a statement on an already closed connection says so in its message.
  return e.fatal === true || /closed state|socket has been ended/i.test(String(e.message ?? ''));
}

/** The status of a run that threw: input problems before connectivity, then a failed task. */
export function exitCodeOfError(err: unknown): ExitCode {
  if (err instanceof UsageError || err instanceof InputError) return EXIT.invalidInput;
  if (isUnreachable(err)) return EXIT.unreachable;
  return EXIT.failed;
}

/**
 * A returned result: stopped-at-deadline is 0, like the Lambda (TaskSucceeded=1): a bounded run is the design, the next
 * run continues where it stopped, and the StoppedAtDeadline metric and the printed status say so. Skipped is 0 too, and so is
 * deferred (the server was busy with another target's heavy task: nothing failed, the ServerBusy metric counts it).
 */
export function exitCodeOfStatus(status: TaskStatus): ExitCode {
  return status === 'failed' ? EXIT.failed : EXIT.succeeded;
}

/** A routine: the worst step, unreachable first (the others usually failed for that reason), then invalid input, then failed. */
export function exitCodeOfRoutine(routine: RoutineResult, stepErrors: readonly unknown[]): ExitCode {
  const codes: ExitCode[] = [
    ...stepErrors.map(exitCodeOfError),
    ...routine.steps.filter((s) => s.status === 'failed' && s.run !== undefined).map(() => EXIT.failed),
  ];
  for (const code of [EXIT.unreachable, EXIT.invalidInput, EXIT.failed] as const) if (codes.includes(code)) return code;
  return EXIT.succeeded;
}
