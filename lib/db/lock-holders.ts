// Reading who blocks a session from what the server exposes: InnoDB lock waits, metadata locks, the processlist, the last deadlock.
import { tableLockHolders, type LockVisibility } from '../maintenance/metadata-locks';
import type { DbSession } from './connection';
import { errno } from './errors';
import type { ServerFlavour } from './flavour';
import { qualifiedName } from './identifiers';
import { parseLatestDeadlock } from './innodb-deadlock';
import type { BlockingSession } from './lock-report';
import { mdlBlockers, mdlMode, type MdlLock, type MdlMode } from './mdl-modes';
import { isPrivilegeError } from './privileges';

export interface WaitContext {
  /** The tables the statement works on, the main one first. */
  readonly tables: readonly { readonly schema: string; readonly table: string }[];
  /**
   * What it asks of them: DML writes (MDL SHARED_WRITE, and row locks), ANALYZE (SHARED_READ), an ALTER (EXCLUSIVE
   * at its start and end). Only DML waits for row locks.
   */
  readonly wants: 'write' | 'read' | 'ddl';
}

/** A lock wait as read: what it was on, who blocks it, and what could not be seen. */
export interface LockWaitReading {
  readonly kind: 'row lock' | 'metadata lock';
  readonly object: string | null;
  readonly blockers: readonly BlockingSession[];
  readonly unseen: readonly string[];
}

const WANTED: Readonly<Record<WaitContext['wants'], MdlMode>> = { write: 'SW', read: 'SR', ddl: 'X' };
/** Processlist states of a session waiting in the metadata-lock subsystem (table, schema, global read, backup, commit locks; a table flush). */
export const MDL_WAIT_STATE = /^Waiting for .*(metadata|global read|backup|commit) lock|^Waiting for table flush/i;
const STATEMENT_CHARS = 120;
export const PROCESS_GRANT = 'GRANT PROCESS ON *.* TO the maintenance user';

/** A statement (or processlist INFO) on one line, cut to STATEMENT_CHARS: what a lock report quotes of a session. */
export function oneLine(s: unknown): string | null {
  if (s === null || s === undefined) return null;
  const t = String(s).replace(/\s+/g, ' ').trim();
  if (!t) return null;
  return t.length > STATEMENT_CHARS ? `${t.slice(0, STATEMENT_CHARS - 1)}…` : t;
}

function num(v: unknown): number | null {
  return v === null || v === undefined || v === '' ? null : Number(v);
}

function isMySql8(flavour: ServerFlavour): boolean {
  return flavour.kind !== 'mariadb' && flavour.major >= 8;
}

/** The row-lock wait lookup: InnoDB's information_schema views on MariaDB (and MySQL 5.7), performance_schema on MySQL 8. */
export function rowLockWaitSql(flavour: ServerFlavour): string {
  if (isMySql8(flavour)) {
    return `SELECT b.trx_mysql_thread_id AS connectionId, CONCAT('\`', l.OBJECT_SCHEMA, '\`.\`', l.OBJECT_NAME, '\`') AS lockTable,
              l.INDEX_NAME AS lockIndex, l.LOCK_MODE AS lockMode, l.LOCK_TYPE AS lockType, l.LOCK_DATA AS lockData
         FROM performance_schema.data_lock_waits w
         JOIN information_schema.INNODB_TRX b ON b.trx_id = w.BLOCKING_ENGINE_TRANSACTION_ID
         LEFT JOIN performance_schema.data_locks l ON l.ENGINE_LOCK_ID = w.BLOCKING_ENGINE_LOCK_ID
        WHERE w.REQUESTING_ENGINE_TRANSACTION_ID = ?`;
  }
  return `SELECT b.trx_mysql_thread_id AS connectionId, l.lock_table AS lockTable, l.lock_index AS lockIndex,
            l.lock_mode AS lockMode, l.lock_type AS lockType, l.lock_data AS lockData
       FROM information_schema.INNODB_LOCK_WAITS w
       JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
       LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.blocking_lock_id
      WHERE w.requesting_trx_id = ?`;
}

/** Where this server shows row-lock waits and what reading them needs. */
export function rowLockSource(flavour: ServerFlavour): string {
  return isMySql8(flavour)
    ? `the blocking transaction: performance_schema.data_lock_waits needs SELECT on performance_schema, INNODB_TRX the PROCESS privilege (${PROCESS_GRANT})`
    : `the blocking transaction: information_schema.INNODB_LOCK_WAITS needs the PROCESS privilege (${PROCESS_GRANT})`;
}

/** How to make metadata-lock holders visible on this kind of server. */
export function metadataLockHint(flavour: ServerFlavour): string {
  return flavour.kind === 'mariadb'
    ? "metadata lock holders: shown by MariaDB's METADATA_LOCK_INFO plugin (INSTALL SONAME 'metadata_lock_info'), or with performance_schema=ON and the wait/lock/metadata/sql/mdl instrument"
    : "metadata lock holders: shown by performance_schema.metadata_locks once its instrument is on (UPDATE performance_schema.setup_instruments SET ENABLED = 'YES' WHERE NAME = 'wait/lock/metadata/sql/mdl') to a user with SELECT on performance_schema";
}

export interface Candidate {
  readonly connectionId: number;
  readonly role: BlockingSession['role'];
  readonly lock: string | null;
  /** What is known from elsewhere (a deadlock report) when the session is no longer in the processlist. */
  readonly known?: { readonly user: string | null; readonly host: string | null; readonly statement: string | null };
}

/** Processlist and InnoDB-transaction details of `candidates`, as they are now; what cannot be read goes to `unseen`. */
export async function describeSessions(db: DbSession, candidates: readonly Candidate[], unseen: string[]): Promise<BlockingSession[]> {
  if (candidates.length === 0) return [];
  const ids = [...new Set(candidates.map((c) => c.connectionId))];
  const procs = await db.query<{ id: number; user: string; host: string; command: string; seconds: number; state: string | null; info: string | null }>(
    `SELECT ID AS id, USER AS user, HOST AS host, COMMAND AS command, TIME AS seconds, STATE AS state, LEFT(INFO, 400) AS info
       FROM information_schema.PROCESSLIST WHERE ID IN (?)`,
    [ids],
  );
  const trx = new Map<number, { seconds: number | null; query: string | null }>();
  try {
    const rows = await db.query<{ id: number; seconds: number | null; query: string | null }>(
      `SELECT trx_mysql_thread_id AS id, TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS seconds, LEFT(trx_query, 400) AS query
         FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id IN (?)`,
      [ids],
    );
    for (const r of rows) trx.set(Number(r.id), { seconds: num(r.seconds), query: r.query });
  } catch (err) {
    if (!isPrivilegeError(err)) throw err;
    unseen.push(`transaction ages: information_schema.INNODB_TRX needs the PROCESS privilege (${PROCESS_GRANT})`);
  }
  const byId = new Map(procs.map((p) => [Number(p.id), p]));
  if (candidates.some((c) => !byId.has(c.connectionId) && !c.known)) {
    unseen.push(`sessions of other users (or ended ones): information_schema.PROCESSLIST shows other users' sessions only with PROCESS (${PROCESS_GRANT})`);
  }
  return candidates.map((c) => {
    const p = byId.get(c.connectionId);
    const t = trx.get(c.connectionId);
    return {
      connectionId: c.connectionId,
      role: c.role,
      user: p?.user ?? c.known?.user ?? null,
      host: p?.host ?? c.known?.host ?? null,
      command: p?.command ?? null,
      seconds: num(p?.seconds),
      state: p?.state ? String(p.state) : null,
      statement: oneLine(t?.query ?? p?.info ?? c.known?.statement),
      transactionSeconds: t?.seconds ?? null,
      lock: c.lock,
    };
  });
}

/** What the connection is doing now: its processlist state and, when readable, its InnoDB transaction's state. */
export async function waiterState(
  db: DbSession,
  connectionId: number,
  withTransaction: boolean,
): Promise<{ state: string; seconds: number; trxId: string | null; trxState: string | null } | undefined> {
  const [p] = await db.query<{ state: string | null; seconds: number }>('SELECT STATE AS state, TIME AS seconds FROM information_schema.PROCESSLIST WHERE ID = ?', [connectionId]);
  if (!p) return undefined;
  const state = String(p.state ?? '');
  if (!withTransaction || MDL_WAIT_STATE.test(state)) return { state, seconds: Number(p.seconds), trxId: null, trxState: null };
  const [trx] = await db.query<{ id: string; state: string }>('SELECT trx_id AS id, trx_state AS state FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?', [
    connectionId,
  ]);
  return { state, seconds: Number(p.seconds), trxId: trx ? String(trx.id) : null, trxState: trx?.state ?? null };
}

/** The transaction(s) holding the row lock InnoDB transaction `trxId` waits for. */
export async function readRowLockWait(db: DbSession, flavour: ServerFlavour, trxId: string): Promise<LockWaitReading> {
  const unseen: string[] = [];
  let rows: { connectionId: number; lockTable: string | null; lockIndex: string | null; lockMode: string | null; lockType: string | null; lockData: string | null }[] = [];
  try {
    rows = await db.query(rowLockWaitSql(flavour), [trxId]);
  } catch (err) {
    // No privilege, or the view is not there (performance_schema off): say so rather than fail.
    if (!isPrivilegeError(err) && errno(err) !== 1109 && errno(err) !== 1146) throw err;
    unseen.push(rowLockSource(flavour));
  }
  const first = rows[0];
  const object = first?.lockTable ? `${first.lockTable}${first.lockIndex ? ` (index ${first.lockIndex})` : ''}` : null;
  const candidates = rows.map((r) => ({
    connectionId: Number(r.connectionId),
    role: 'holds' as const,
    lock: r.lockMode ? `${r.lockMode} ${String(r.lockType ?? '').toLowerCase()} lock${r.lockData ? ` on ${oneLine(r.lockData)}` : ''}` : null,
  }));
  return { kind: 'row lock', object, blockers: await describeSessions(db, candidates, unseen), unseen };
}

/** InnoDB transactions of other sessions open at least `seconds` (those holding row locks only, with `lockingRows`), oldest first. */
export async function oldTransactions(db: DbSession, exclude: number, seconds: number, lockingRows: boolean, unseen: string[]): Promise<number[]> {
  try {
    const rows = await db.query<{ id: number }>(
      `SELECT trx_mysql_thread_id AS id FROM information_schema.INNODB_TRX
        WHERE trx_started <= NOW() - INTERVAL ? SECOND ${lockingRows ? 'AND trx_rows_locked > 0' : ''}
          AND trx_mysql_thread_id NOT IN (?, CONNECTION_ID()) ORDER BY trx_started LIMIT 5`,
      [Math.max(0, seconds), exclude],
    );
    return rows.map((r) => Number(r.id));
  } catch (err) {
    if (!isPrivilegeError(err)) throw err;
    unseen.push(`open transactions: information_schema.INNODB_TRX needs the PROCESS privilege (${PROCESS_GRANT})`);
    return [];
  }
}

/**
 * Who keeps `waiter` (in a metadata-lock wait for `seconds`, in processlist state `state`) waiting: from
 * performance_schema (its PENDING lock names the object), MariaDB's METADATA_LOCK_INFO (granted locks on the
 * statement's tables), or — with neither — transactions older than the wait, which may hold it.
 */
export async function readMetadataLockWait(
  db: DbSession,
  visibility: LockVisibility,
  waiter: { readonly threadId: number; readonly flavour: ServerFlavour },
  ctx: WaitContext,
  state: string,
  seconds: number,
): Promise<LockWaitReading> {
  const unseen: string[] = [];
  const wanted = WANTED[ctx.wants];
  const main = ctx.tables[0];
  let object = main ? qualifiedName(main.schema, main.table) : null;
  let candidates: Candidate[] = [];
  const mdlCandidates = (found: ReturnType<typeof mdlBlockers>): Candidate[] => found.map((b) => ({ connectionId: b.connectionId, role: b.role, lock: b.mode }));
  try {
    if (visibility === 'performance_schema') {
      const [p] = await db.query<{ objectType: string; objectSchema: string | null; objectName: string | null; mode: string }>(
        `SELECT m.OBJECT_TYPE AS objectType, m.OBJECT_SCHEMA AS objectSchema, m.OBJECT_NAME AS objectName, m.LOCK_TYPE AS mode
           FROM performance_schema.metadata_locks m JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID
          WHERE t.PROCESSLIST_ID = ? AND m.LOCK_STATUS = 'PENDING'`,
        [waiter.threadId],
      );
      const target = p ?? (main ? { objectType: 'TABLE', objectSchema: main.schema, objectName: main.table, mode: '' } : undefined);
      if (target) {
        if (p) object = p.objectSchema && p.objectName ? qualifiedName(p.objectSchema, p.objectName) : `${p.objectType.toLowerCase()} lock`;
        const locks = await db.query<{ connectionId: number; mode: string; status: 'GRANTED' | 'PENDING' }>(
          `SELECT t.PROCESSLIST_ID AS connectionId, m.LOCK_TYPE AS mode, m.LOCK_STATUS AS status
             FROM performance_schema.metadata_locks m JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID
            WHERE m.OBJECT_TYPE = ? AND m.OBJECT_SCHEMA <=> ? AND m.OBJECT_NAME <=> ? AND m.LOCK_STATUS IN ('GRANTED', 'PENDING')
              AND t.PROCESSLIST_ID IS NOT NULL AND t.PROCESSLIST_ID <> CONNECTION_ID()`,
          [target.objectType, target.objectSchema, target.objectName],
        );
        const all: MdlLock[] = locks.map((l) => ({ connectionId: Number(l.connectionId), mode: String(l.mode), status: l.status }));
        candidates = mdlCandidates(mdlBlockers(waiter.threadId, mdlMode(target.mode) ?? wanted, all));
      }
    } else if (visibility === 'metadata_lock_info') {
      // The plugin lists granted locks only. A session that holds a lock on the table and waits for a metadata lock is an
      // ALTER waiting to upgrade to EXCLUSIVE: every later request on the table queues behind it.
      const waiting = await db.query<{ id: number }>(`SELECT ID AS id FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for %metadata lock' AND ID <> ?`, [
        waiter.threadId,
      ]);
      const waitingIds = new Set(waiting.map((w) => Number(w.id)));
      for (const t of ctx.tables) {
        const held = await tableLockHolders(db, 'metadata_lock_info', t.schema, t.table);
        const locks: MdlLock[] = held.map((h) => ({ connectionId: h.threadId, mode: h.lockType, status: 'GRANTED' as const }));
        for (const id of new Set(held.map((h) => h.threadId))) if (waitingIds.has(id)) locks.push({ connectionId: id, mode: 'EXCLUSIVE', status: 'PENDING' });
        const found = mdlBlockers(waiter.threadId, wanted, locks);
        if (found.length > 0) {
          object = qualifiedName(t.schema, t.table);
          candidates = mdlCandidates(found);
          break;
        }
      }
    } else {
      unseen.push(metadataLockHint(waiter.flavour));
      // A transaction keeps the metadata locks of every table it touched until it ends: any one older than the wait may
      // hold it. Sessions waiting longer than this one, on a statement naming the table, may be queued ahead of it.
      for (const id of await oldTransactions(db, waiter.threadId, seconds, false, unseen)) candidates.push({ connectionId: id, role: 'may hold', lock: null });
      const names = ctx.tables.map((t) => t.table.toLowerCase());
      const ahead = await db.query<{ id: number; info: string | null }>(
        `SELECT ID AS id, INFO AS info FROM information_schema.PROCESSLIST
          WHERE STATE LIKE 'Waiting for %metadata lock' AND TIME > ? AND ID NOT IN (?, CONNECTION_ID()) ORDER BY TIME DESC LIMIT 5`,
        [seconds, waiter.threadId],
      );
      for (const a of ahead) {
        if (names.some((n) => String(a.info ?? '').toLowerCase().includes(n))) candidates.push({ connectionId: Number(a.id), role: 'queued ahead', lock: null });
      }
    }
  } catch (err) {
    if (!isPrivilegeError(err)) throw err;
    unseen.push(`${metadataLockHint(waiter.flavour)}; reading them needs the PROCESS privilege (${PROCESS_GRANT})`);
  }
  // A global read lock, a backup lock or a table flush is not a lock on the statement's tables: say which it was.
  if (state && !/table metadata lock/i.test(state)) object = `${object ?? 'the server'} (${state.toLowerCase()})`;
  return { kind: 'metadata lock', object, blockers: await describeSessions(db, candidates, unseen), unseen };
}

/** The other transactions of InnoDB's latest deadlock, when it is `waiter`'s. */
export async function readDeadlock(db: DbSession, waiter: number): Promise<{ object: string | null; blockers: BlockingSession[]; unseen: string[] }> {
  const unseen: string[] = [];
  let report: ReturnType<typeof parseLatestDeadlock>;
  try {
    const [row] = await db.query<{ Status: string }>('SHOW ENGINE INNODB STATUS');
    report = parseLatestDeadlock(String(row?.Status ?? ''));
  } catch (err) {
    if (!isPrivilegeError(err)) throw err;
    unseen.push(`the other transaction: SHOW ENGINE INNODB STATUS needs the PROCESS privilege (${PROCESS_GRANT})`);
  }
  const ours = report?.transactions.find((t) => t.connectionId === waiter);
  if (report && !ours) unseen.push("the other transaction: InnoDB's latest deadlock report is of another deadlock (a later one replaced it)");
  const others = ours ? report!.transactions.filter((t) => t.connectionId !== waiter) : [];
  const blockers = await describeSessions(
    db,
    others.map((t) => ({
      connectionId: t.connectionId,
      role: 'deadlocked with' as const,
      lock: t.waitedFor ? `waited for ${t.waitedFor}` : null,
      known: { user: t.user, host: t.host, statement: t.statement },
    })),
    unseen,
  );
  return { object: ours?.waitedFor ?? null, blockers, unseen };
}
