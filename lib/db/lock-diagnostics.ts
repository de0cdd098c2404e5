// Why a statement gave up on a lock — a row lock or a metadata lock, and who held it — watched from another session while it waited.
import { lockVisibility, type LockVisibility } from '../maintenance/metadata-locks';
import type { Log } from '../runtime/log';
import type { DbSession } from './connection';
import { qualifiedName } from './identifiers';
import { describeSessions, MDL_WAIT_STATE, oldTransactions, readDeadlock, readMetadataLockWait, readRowLockWait, waiterState, type LockWaitReading, type WaitContext } from './lock-holders';
import { errorText, lockDiagnosis, lockErrorKind, LockWaitError, type LockDiagnosis } from './lock-report';
import { isMissingProcessPrivilege, isPrivilegeError } from './privileges';

export type { BlockingSession, LockDiagnosis, LockKind } from './lock-report';
export { diagnosisOf } from './lock-report';
export type { WaitContext } from './lock-holders';

/** When the watchdog looks: 0.25 s into the statement, then every 0.25 s for a second, then every 0.5 s (lock timeouts are whole seconds, ≥ 1). */
const POLL_MS = [250, 250, 250, 250, 500] as const;

type ObserverSource = DbSession | (() => Promise<DbSession>) | undefined;

interface Observation extends LockWaitReading {
  readonly seenAtSeconds: number;
}

/**
 * Watches statements that may wait for locks. While one runs longer than a quarter second, another session (the
 * observer) reads what its connection waits for and who holds that; when the statement then fails with a lock wait
 * timeout or a deadlock, the error is rethrown as a LockWaitError carrying the diagnosis. After the timeout the
 * wait is gone from the server, so without an observation only what is left can be reported (and the report says
 * so). The observer is only read from; one that fails is dropped. Nothing but the diagnosis added to a lock error
 * changes the statement's outcome.
 */
export class LockWatch {
  private observer: DbSession | undefined;
  private readonly open: (() => Promise<DbSession>) | undefined;
  private opening: Promise<DbSession | undefined> | undefined;
  private owned = false;
  private broken = false;
  private visibility: Promise<LockVisibility> | undefined;

  /** `source`: a session to read from (not owned), a factory to open one on first need (closed by `close`), or none. */
  constructor(
    source: ObserverSource,
    private readonly log: Log,
  ) {
    if (typeof source === 'function') this.open = source;
    else this.observer = source;
  }

  /**
   * The observer if it is open; else start opening it (once) and return undefined: a statement under watch never
   * waits for a connect (a slow one would hold up every statement it watches).
   */
  private ready(): DbSession | undefined {
    if (this.broken) return undefined;
    if (!this.observer) void this.session();
    return this.observer;
  }

  private async session(): Promise<DbSession | undefined> {
    if (this.broken) return undefined;
    if (this.observer) return this.observer;
    if (!this.open) return undefined;
    this.opening ??= this.open().then(
      (s) => {
        this.owned = true;
        this.observer = s;
        return s;
      },
      (err: unknown) => {
        this.broken = true;
        this.log.warn('no session to watch lock waits from; lock failures are diagnosed after the fact', { error: errorText(err) });
        return undefined;
      },
    );
    return this.opening;
  }

  /** Close the observer if this watch opened it. */
  async close(): Promise<void> {
    const s = this.opening ? await this.opening : undefined;
    this.broken = true;
    this.observer = undefined;
    if (s && this.owned) await s.close();
  }

  /** Run `fn` (statements on `waiter`) under watch; a lock error it throws comes back as a LockWaitError. */
  async during<T>(waiter: DbSession, ctx: WaitContext, fn: () => Promise<T>): Promise<T> {
    const startedAt = Date.now();
    let last: Observation | undefined;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight: Promise<void> = Promise.resolve();
    const schedule = (i: number) => {
      timer = setTimeout(() => {
        inFlight = (async () => {
          if (stopped) return;
          const o = await this.observe(waiter, ctx, startedAt);
          if (o) last = o; // read before the statement ended: still what it waited for
          if (!stopped) schedule(i + 1);
        })();
      }, POLL_MS[Math.min(i, POLL_MS.length - 1)]);
    };
    schedule(0);
    const stop = async () => {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    };
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await stop();
      const kind = lockErrorKind(err);
      // A statement watched inside another watched one: the inner watch has said it already.
      if (!kind || err instanceof LockWaitError) throw err;
      throw new LockWaitError(err, await this.diagnose(waiter, ctx, kind, last, startedAt));
    }
    await stop();
    return result;
  }

  private lockVisibility(db: DbSession): Promise<LockVisibility> {
    this.visibility ??= lockVisibility(db).catch(() => 'none' as const);
    return this.visibility;
  }

  /** One look at `waiter`: undefined unless it waits for a lock now. Never throws. */
  private async observe(waiter: DbSession, ctx: WaitContext, startedAt: number): Promise<Observation | undefined> {
    const db = this.ready();
    if (!db) return undefined;
    try {
      const now = await waiterState(db, waiter.threadId, ctx.wants === 'write').catch((err: unknown) => {
        // Without PROCESS the InnoDB side is hidden: a metadata-lock wait still shows in the processlist.
        if (isMissingProcessPrivilege(err)) return waiterState(db, waiter.threadId, false);
        throw err;
      });
      if (!now) return undefined;
      let reading: LockWaitReading | undefined;
      if (MDL_WAIT_STATE.test(now.state)) reading = await readMetadataLockWait(db, await this.lockVisibility(db), waiter, ctx, now.state, now.seconds);
      else if (now.trxState === 'LOCK WAIT' && now.trxId) reading = await readRowLockWait(db, waiter.flavour, now.trxId);
      return reading ? { ...reading, seenAtSeconds: Math.round((Date.now() - startedAt) / 100) / 10 } : undefined;
    } catch (err) {
      if (!isPrivilegeError(err)) {
        this.broken = true;
        this.log.warn('lock watch session failed; lock failures are diagnosed after the fact', { error: errorText(err) });
      }
      return undefined;
    }
  }

  /** The diagnosis of a lock error: the last observation while waiting, else what can still be seen (and that it was not seen waiting). */
  private async diagnose(waiter: DbSession, ctx: WaitContext, kind: 'timeout' | 'deadlock', last: Observation | undefined, startedAt: number): Promise<LockDiagnosis> {
    const observer = this.ready();
    // Without an observer, look from the waiter itself: its statement has ended, and these reads take no locks.
    const db = observer ?? waiter;
    const main = ctx.tables[0];
    const table = main ? qualifiedName(main.schema, main.table) : null;
    try {
      if (kind === 'deadlock') {
        const d = await readDeadlock(db, waiter.threadId);
        return lockDiagnosis({
          kind: 'deadlock',
          object: d.object ?? table,
          observed: d.blockers.length ? 'deadlock report' : 'after the error',
          seenAtSeconds: null,
          blockers: d.blockers,
          unseen: d.unseen,
        });
      }
      if (last) {
        const { seenAtSeconds, ...reading } = last;
        return lockDiagnosis({ ...reading, observed: 'while waiting', seenAtSeconds });
      }
      const unseen = [
        observer
          ? 'the wait itself: it ended before a look saw it'
          : this.open && !this.broken
            ? 'the wait itself: it ended before the watching session was open'
            : 'the wait itself: no second session was there to watch it',
      ];
      const elapsed = Math.floor((Date.now() - startedAt) / 1000);
      if (ctx.wants !== 'write') {
        // ANALYZE and ALTER wait for metadata locks only: the kind is certain, the holders are who still holds the table.
        const r = await readMetadataLockWait(db, await this.lockVisibility(db), waiter, ctx, '', elapsed);
        return lockDiagnosis({ ...r, observed: 'after the error', seenAtSeconds: null, unseen: [...unseen, ...r.unseen] });
      }
      const ids = await oldTransactions(db, waiter.threadId, elapsed, true, unseen);
      const blockers = await describeSessions(db, ids.map((id) => ({ connectionId: id, role: 'may hold' as const, lock: null })), unseen);
      return lockDiagnosis({ kind: 'lock of unknown kind', object: table, observed: 'after the error', seenAtSeconds: null, blockers, unseen });
    } catch (err) {
      this.log.warn('lock diagnosis failed', { error: errorText(err) });
      return lockDiagnosis({
        kind: kind === 'deadlock' ? 'deadlock' : ctx.wants === 'write' ? 'lock of unknown kind' : 'metadata lock',
        object: table,
        observed: 'after the error',
        seenAtSeconds: null,
        blockers: [],
        unseen: [`the lock's holder: reading the server's lock tables failed (${errorText(err)})`],
      });
    }
  }
}
