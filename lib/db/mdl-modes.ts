// Metadata-lock modes and which granted modes block a request: who, of the sessions on a table, keeps a statement waiting.

/** Table-level MDL modes as MySQL's performance_schema (SHARED_WRITE) and MariaDB's METADATA_LOCK_INFO (MDL_SHARED_WRITE) name them. */
export type MdlMode = 'S' | 'SH' | 'SR' | 'SW' | 'SWLP' | 'SU' | 'SRO' | 'SNW' | 'SNRW' | 'X';

const BY_NAME: Readonly<Record<string, MdlMode>> = {
  SHARED: 'S',
  SHARED_HIGH_PRIO: 'SH',
  SHARED_READ: 'SR',
  SHARED_WRITE: 'SW',
  SHARED_WRITE_LOW_PRIO: 'SWLP',
  SHARED_UPGRADABLE: 'SU',
  SHARED_READ_ONLY: 'SRO',
  SHARED_NO_WRITE: 'SNW',
  SHARED_NO_READ_WRITE: 'SNRW',
  EXCLUSIVE: 'X',
};

/** The mode a server's name stands for; undefined for modes outside the table namespace (backup, schema intention locks). */
export function mdlMode(name: string): MdlMode | undefined {
  return BY_NAME[name.toUpperCase().replace(/^MDL_/, '')];
}

/**
 * Granted modes each request is incompatible with (the table-namespace matrix of MySQL's and MariaDB's mdl.cc):
 * a DML statement (SW) waits only for LOCK TABLES (SRO, SNRW), an upgraded ALTER (SNW, X); an ALTER's X waits for everyone.
 */
const BLOCKED_BY: Readonly<Record<MdlMode, readonly MdlMode[]>> = {
  S: ['X'],
  SH: ['X'],
  SR: ['SNRW', 'X'],
  SW: ['SRO', 'SNW', 'SNRW', 'X'],
  SWLP: ['SRO', 'SNW', 'SNRW', 'X'],
  SU: ['SU', 'SNW', 'SNRW', 'X'],
  SRO: ['SW', 'SWLP', 'SNW', 'SNRW', 'X'],
  SNW: ['SW', 'SWLP', 'SU', 'SNW', 'SNRW', 'X'],
  SNRW: ['SR', 'SW', 'SWLP', 'SU', 'SRO', 'SNW', 'SNRW', 'X'],
  X: ['S', 'SH', 'SR', 'SW', 'SWLP', 'SU', 'SRO', 'SNW', 'SNRW', 'X'],
};

/** Whether a granted lock of mode `granted` keeps a request for `wanted` waiting; an unknown mode counts as blocking. */
export function blocks(granted: string, wanted: MdlMode): boolean {
  const g = mdlMode(granted);
  return g === undefined ? true : BLOCKED_BY[wanted].includes(g);
}

/**
 * Requests that are served before weaker ones already waiting (mdl.cc's "hog" and exclusive locks): a pending
 * ALTER (X) makes every later DML on the table queue behind it, though the DML's own mode fits every lock held.
 */
const JUMPS_THE_QUEUE: readonly MdlMode[] = ['X', 'SNRW', 'SNW'];

export interface MdlLock {
  readonly connectionId: number;
  readonly mode: string;
  readonly status: 'GRANTED' | 'PENDING';
}

export interface MdlBlocker {
  readonly connectionId: number;
  readonly mode: string;
  readonly role: 'holds' | 'queued ahead';
}

/**
 * Who keeps `waiter`'s request for `wanted` on one table waiting: sessions holding an incompatible lock; else
 * sessions whose stronger request is queued ahead of it, and the holders those wait for (the root of the queue).
 */
export function mdlBlockers(waiter: number, wanted: MdlMode, locks: readonly MdlLock[]): MdlBlocker[] {
  const others = locks.filter((l) => l.connectionId !== waiter);
  const granted = others.filter((l) => l.status === 'GRANTED');
  const direct = granted.filter((l) => blocks(l.mode, wanted));
  const queued = others.filter((l) => l.status === 'PENDING' && JUMPS_THE_QUEUE.includes(mdlMode(l.mode) ?? 'X'));
  const out: MdlBlocker[] = direct.map((l) => ({ connectionId: l.connectionId, mode: l.mode, role: 'holds' as const }));
  if (out.length === 0 && queued.length > 0) {
    const queuedIds = new Set(queued.map((q) => q.connectionId));
    for (const q of queued) out.push({ connectionId: q.connectionId, mode: q.mode, role: 'queued ahead' });
    for (const g of granted) {
      if (queuedIds.has(g.connectionId)) continue;
      if (queued.some((q) => blocks(g.mode, mdlMode(q.mode) ?? 'X'))) out.push({ connectionId: g.connectionId, mode: g.mode, role: 'holds' });
    }
  }
  // One entry per session: the strongest part it plays.
  const seen = new Map<number, MdlBlocker>();
  for (const b of out) if (!seen.has(b.connectionId) || b.role === 'holds') seen.set(b.connectionId, b);
  return [...seen.values()];
}
