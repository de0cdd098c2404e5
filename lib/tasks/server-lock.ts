// The server-wide lock of heavy tasks: one purge, archive or rebuild at a time per database server, whichever target runs it.
import { createHash } from 'node:crypto';
import type { DbSession } from '../db/connection';
import { oneLine, PROCESS_GRANT } from '../db/lock-holders';
import type { ProcesslistSession } from '../db/lock-report';

/** What a routine step throws when the server is busy: Step Functions matches this name in a Retry (infra/constructs/routine-state-machine.ts). */
export const SERVER_BUSY_ERROR = 'ServerBusy';

/** MySQL 8 refuses user-lock names over 64 characters (MariaDB allows more): longer names keep their prefix and hash the rest. */
const MAX_LOCK_NAME = 64;

function fitted(prefix: string, rest: string): string {
  const name = prefix + rest;
  return name.length <= MAX_LOCK_NAME ? name : prefix + createHash('sha1').update(rest).digest('hex').slice(0, MAX_LOCK_NAME - prefix.length);
}

/**
 * The lock's name. User locks are server-wide (across schemas); it is scoped by dbmaint's run-log schema, which every target
 * of one deployment shares (config.runLog is not per target): so two targets on one server exclude each other, while
 * deployments that keep their own run-log schemas (and the test files, each with its own) stay independent.
 */
export function serverLockName(scope: string): string {
  return fitted('dbmaint:server-exclusive:', scope);
}

/**
 * A second lock the holder takes to say who it is: user locks cannot be listed without performance_schema or a plugin, but a
 * waiter can ask IS_USED_LOCK of every name its configuration could have produced.
 */
export function holderLockName(scope: string, target: string, task: string): string {
  return fitted('dbmaint:holder:', `${scope}:${target}:${task}`);
}

export interface RunIdentity {
  readonly target: string;
  readonly task: string;
}

/** Who holds the lock, as far as this session can see. */
export interface ServerLockHolder extends ProcesslistSession {
  readonly lock: string;
  /** Null when the holder let go and took it again each time this session looked (a lock changing hands quickly). */
  readonly connectionId: number | null;
  /** The dbmaint run holding it, when it is one of this configuration's targets. */
  readonly run: RunIdentity | null;
  /** What could not be seen, and the GRANT that shows it. */
  readonly unseen: readonly string[];
}

/** One line: the lock, the connection and what it is. */
export function describeHolder(h: ServerLockHolder): string {
  if (h.connectionId === null) return `${h.lock} changed hands while this run looked; the holder could not be named`;
  const session = [h.user !== null ? `${h.user}@${h.host ?? '?'}` : null, h.command !== null ? `${h.command} for ${h.seconds ?? '?'} s` : null, h.state || null]
    .filter((x) => x !== null)
    .join(', ');
  const who = h.run ? `dbmaint ${h.run.task} for target '${h.run.target}'` : 'not a dbmaint run of this configuration’s targets (or one that did not name itself)';
  const statement = h.statement ? `; running: ${h.statement}` : '';
  const unseen = h.unseen.length ? `; not visible: ${h.unseen.join('; ')}` : '';
  return `${h.lock} is held by connection ${h.connectionId}${session ? ` (${session})` : ''}: ${who}${statement}${unseen}`;
}

/** A routine step on a busy server: Step Functions retries it later (the Retry on ServerBusy). */
export class ServerBusyError extends Error {
  override readonly name = SERVER_BUSY_ERROR;
  constructor(
    message: string,
    readonly holder: ServerLockHolder,
  ) {
    super(message);
  }
}

export interface ServerLock {
  readonly name: string;
  /** Explicitly at the end of the task; a crashed task's session ending releases it too. */
  release(): Promise<void>;
}

async function holderOf(db: DbSession, lock: string, connectionId: number, scope: string, candidatesOf: () => readonly RunIdentity[]): Promise<ServerLockHolder> {
  const candidates = candidatesOf();
  const unseen: string[] = [];
  const [p] = await db.query<{ user: string; host: string; command: string; seconds: number; state: string | null; info: string | null }>(
    `SELECT USER AS user, HOST AS host, COMMAND AS command, TIME AS seconds, STATE AS state, LEFT(INFO, 400) AS info
       FROM information_schema.PROCESSLIST WHERE ID = ?`,
    [connectionId],
  );
  if (!p) unseen.push(`its user, host and statement: information_schema.PROCESSLIST shows other users' sessions only with PROCESS (${PROCESS_GRANT})`);
  let run: RunIdentity | null = null;
  if (candidates.length > 0) {
    const byName = new Map(candidates.map((c) => [holderLockName(scope, c.target, c.task), c]));
    // One statement whatever the target count; JSON_TABLE is in MySQL 8.0 and MariaDB 10.6, the oldest servers supported.
    const [hit] = await db.query<{ n: string }>(
      `SELECT j.n AS n FROM JSON_TABLE(?, '$[*]' COLUMNS (n VARCHAR(64) PATH '$')) AS j WHERE IS_USED_LOCK(j.n) = ? LIMIT 1`,
      [JSON.stringify([...byName.keys()]), connectionId],
    );
    if (hit) run = byName.get(String(hit.n)) ?? null;
  }
  return {
    lock,
    connectionId,
    user: p?.user ?? null,
    host: p?.host ?? null,
    command: p?.command ?? null,
    seconds: p ? Number(p.seconds) : null,
    state: p?.state ? String(p.state) : null,
    statement: oneLine(p?.info),
    run,
    unseen,
  };
}

/** Attempts when the holder releases between GET_LOCK and IS_USED_LOCK: the lock is free then, so try again. */
const ATTEMPTS = 3;

/**
 * Take the server lock without waiting (GET_LOCK(…, 0)): either the lock, or who holds it. `self` names this run in its
 * holder lock; `candidates` lists the runs a holder could be (every target of the configuration × the exclusive tasks),
 * asked for only when the server is busy.
 */
export async function acquireServerLock(
  db: DbSession,
  scope: string,
  self: RunIdentity,
  candidates: () => readonly RunIdentity[],
): Promise<{ readonly lock: ServerLock } | { readonly holder: ServerLockHolder }> {
  const name = serverLockName(scope);
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const [got] = await db.query<{ got: number | null }>('SELECT GET_LOCK(?, 0) AS got', [name]);
    if (Number(got?.got) === 1) {
      const identity = holderLockName(scope, self.target, self.task);
      // Only a name tag: a second run of the same target and task cannot get here, the server lock keeps it out.
      await db.query('SELECT GET_LOCK(?, 0) AS got', [identity]);
      return {
        lock: {
          name,
          async release() {
            await db.query('SELECT RELEASE_LOCK(?) AS a, RELEASE_LOCK(?) AS b', [identity, name]).catch(() => undefined);
          },
        },
      };
    }
    const [used] = await db.query<{ id: number | null }>('SELECT IS_USED_LOCK(?) AS id', [name]);
    if (used?.id !== null && used?.id !== undefined) return { holder: await holderOf(db, name, Number(used.id), scope, candidates) };
  }
  return { holder: { lock: name, connectionId: null, user: null, host: null, command: null, seconds: null, state: null, statement: null, run: null, unseen: [] } };
}
