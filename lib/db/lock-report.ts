// What a lock diagnosis says (row or metadata lock, who held it, what could not be seen) and its one-line form.
import { errno, sqlMessage as errorText } from './errors';

export type LockKind = 'row lock' | 'metadata lock' | 'deadlock' | 'lock of unknown kind';

/** Another session as the processlist shows it. */
export interface ProcesslistSession {
  readonly user: string | null;
  readonly host: string | null;
  /** Processlist command (`Sleep`: idle, a transaction perhaps still open) and seconds in it. */
  readonly command: string | null;
  readonly seconds: number | null;
  readonly state: string | null;
  /** The first characters of what it runs. */
  readonly statement: string | null;
}

export interface BlockingSession extends ProcesslistSession {
  readonly connectionId: number;
  /** `may hold`: only a candidate (a transaction older than the wait), where the server does not show lock holders. */
  readonly role: 'holds' | 'queued ahead' | 'may hold' | 'deadlocked with';
  /** Its InnoDB transaction's statement where there is one, else the processlist's. */
  readonly statement: string | null;
  readonly transactionSeconds: number | null;
  /** What it holds or wants: an MDL mode, or an InnoDB lock ("X record lock on 42"). */
  readonly lock: string | null;
}

export interface LockDiagnosis {
  readonly kind: LockKind;
  /** `schema`.`table` (and index) the lock is on, when known. */
  readonly object: string | null;
  /**
   * `while waiting`: read from another session during the wait; `deadlock report`: InnoDB's report of the deadlock;
   * `after the error`: the wait was not seen, only what was left to see.
   */
  readonly observed: 'while waiting' | 'deadlock report' | 'after the error';
  /** Seconds into the statement at the last look that saw it waiting. */
  readonly seenAtSeconds: number | null;
  readonly blockers: readonly BlockingSession[];
  /** What could not be seen, and the privilege or plugin that would show it. */
  readonly unseen: readonly string[];
  /** One line for messages, the run log and reports. */
  readonly summary: string;
}

function describeSession(b: BlockingSession): string {
  const parts = [
    b.user !== null ? `${b.user}@${b.host ?? '?'}` : null,
    b.command !== null ? `${b.command} ${b.seconds ?? '?'} s` : null,
    b.transactionSeconds !== null ? `transaction open ${b.transactionSeconds} s` : null,
    b.statement !== null && b.role === 'deadlocked with' ? `ran "${b.statement}"` : null,
    b.statement !== null && b.command !== 'Sleep' && b.role !== 'deadlocked with' ? `"${b.statement}"` : null,
    b.lock !== null ? (b.role === 'holds' ? `holds ${b.lock}` : b.role === 'queued ahead' ? `wants ${b.lock}` : b.lock) : null,
  ].filter((p): p is string => p !== null);
  return `connection ${b.connectionId}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

const ROLE_TEXT: Readonly<Record<BlockingSession['role'], string>> = {
  holds: 'held by',
  'queued ahead': 'queued behind',
  'may hold': 'possibly held by',
  'deadlocked with': 'deadlocked with',
};

/** "row lock on `s`.`t` (index PRIMARY), held by connection 42 (app@10.0.0.5:51234, Sleep 12 s, …) (seen while waiting, 0.8 s in)". */
function summarize(d: Omit<LockDiagnosis, 'summary'>): string {
  const head = `${d.kind}${d.object ? ` on ${d.object}` : ''}`;
  const groups = (Object.keys(ROLE_TEXT) as BlockingSession['role'][])
    .map((role) => {
      const of = d.blockers.filter((b) => b.role === role);
      return of.length ? `${ROLE_TEXT[role]} ${of.map(describeSession).join(', ')}` : null;
    })
    .filter((g): g is string => g !== null);
  const who = groups.length ? groups.join('; ') : 'holder not seen';
  const seen =
    d.observed === 'while waiting'
      ? `seen while waiting${d.seenAtSeconds !== null ? `, ${d.seenAtSeconds} s in` : ''}`
      : d.observed === 'deadlock report'
        ? "from InnoDB's deadlock report"
        : 'not seen while waiting';
  const unseen = d.unseen.length ? `; not visible: ${d.unseen.join('; ')}` : '';
  return `${head}, ${who} (${seen})${unseen}`;
}

export function lockDiagnosis(d: Omit<LockDiagnosis, 'summary'>): LockDiagnosis {
  const unseen = [...new Set(d.unseen)];
  return { ...d, unseen, summary: summarize({ ...d, unseen }) };
}

export { errorText };

/**
 * A lock wait timeout (1205: InnoDB row locks and metadata locks alike) or a deadlock (1213). ANALYZE reports
 * its lock wait timeout as a result row, so it arrives as a message without a number.
 */
export function lockErrorKind(err: unknown): 'timeout' | 'deadlock' | undefined {
  const n = errno(err);
  if (n === 1205) return 'timeout';
  if (n === 1213) return 'deadlock';
  if (n !== undefined) return undefined;
  const m = errorText(err);
  if (/^Lock wait timeout exceeded/i.test(m)) return 'timeout';
  if (/^Deadlock found/i.test(m)) return 'deadlock';
  return undefined;
}

/** The original error, its number and code kept (callers retry on them), its message followed by the diagnosis. */
export class LockWaitError extends Error {
  override readonly name = 'LockWaitError';
  readonly errno: number | undefined;
  readonly code: string | undefined;
  /** The server's message, " — ", the diagnosis: what the run log, results and reports show. */
  readonly sqlMessage: string;

  constructor(
    cause: unknown,
    readonly diagnosis: LockDiagnosis,
  ) {
    // `message` stays the server's own: callers match it (connection loss) and must not match another session's SQL.
    super(errorText(cause), { cause });
    this.errno = errno(cause);
    this.code = (cause as { code?: string }).code;
    this.sqlMessage = `${errorText(cause)} — ${diagnosis.summary}`;
  }
}

export function diagnosisOf(err: unknown): LockDiagnosis | undefined {
  return err instanceof LockWaitError ? err.diagnosis : undefined;
}
