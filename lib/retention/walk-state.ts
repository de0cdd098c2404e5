// Where a walk stands between chunks, kept apart from the chunks themselves so that two lanes can share one walk.
import type { DbSession } from '../db/connection';
import type { Log } from '../runtime/log';

/** What the lanes of one walk share besides the cursor: set by one lane, seen by the other before its next chunk. */
export interface WalkState {
  /** Failed chunks retried in a row (a committed chunk resets it). */
  retries: number;
  /** Set to send two walking sessions back to one (both stop after their chunk). */
  collapse: boolean;
  /** The walk ends: the deadline, or a chunk that failed for good. */
  stopped: boolean;
}

/** Reads the key `size` rows further along the walked index (lib/retention/walk-sql.ts). */
export interface BoundaryReader {
  nextBoundary(after: readonly unknown[] | undefined, size: number, on?: DbSession): Promise<unknown[] | undefined>;
}

/** A chunk's upper boundary and the rows it spans. */
export interface NextChunk {
  readonly upTo: unknown[] | undefined;
  readonly size: number;
}

/**
 * Reads the next chunk's boundary on the reader session while the current chunk runs: the boundary read
 * scans the rows of the next chunk (28 ms of a 0.3 s chunk on a CHAR(40) key in bench:purge), which then
 * costs no time of the walk. The chunk size is a guess made before the current chunk's time is known; it is
 * used only when close to what the chunk sizer then asks for (never more than 10% above it), otherwise the
 * boundary is read again on the walk's session. Any boundary is correct: it only decides where a chunk ends.
 */
export class BoundaryPrefetch {
  private pending?: { readonly after: readonly unknown[]; readonly size: number; readonly read: Promise<unknown[] | undefined | Error> };
  /** Prefetched boundaries used, and read again because the guess was off. */
  used = 0;
  missed = 0;

  constructor(
    private readonly walker: BoundaryReader,
    /** Dropped (undefined) once it fails. */
    private reader: DbSession | undefined,
    private readonly log: Log,
    private readonly table: string,
  ) {}

  /** Start reading the boundary `size` rows after `after` (the current chunk's upper bound). */
  start(after: readonly unknown[], size: number): void {
    const reader = this.reader;
    if (!reader) return;
    this.pending = { after, size, read: this.walker.nextBoundary(after, size, reader).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))) };
  }

  /** The boundary for a chunk after `after` of about `wanted` rows (never more than `cap`): the prefetched one when it fits, else read now on `on`. */
  async next(after: readonly unknown[] | undefined, wanted: number, on?: DbSession, cap = Infinity): Promise<NextChunk> {
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      const got = await p.read; // settled either way, so that the reader never has two reads queued
      if (got instanceof Error) {
        // The walk does not depend on the reader: drop it and go on reading boundaries on the walk's session.
        this.reader = undefined;
        this.log.warn('boundary reader failed; reading boundaries on the walk session', { table: this.table, error: got.message });
      } else if (p.after === after && p.size <= Math.min(wanted * 1.1, cap) && p.size >= wanted * 0.5) {
        this.used++;
        return { upTo: got, size: p.size };
      } else {
        this.missed++;
      }
    }
    return { upTo: await this.walker.nextBoundary(after, wanted, on), size: wanted };
  }

  /** Wait for a read still in flight, so that the reader session is idle when the walk returns. */
  async settle(): Promise<void> {
    const p = this.pending;
    this.pending = undefined;
    if (p) await p.read;
  }
}

/** A chunk taken from the walk: its bounds, in key order. */
export interface Claim {
  readonly after: readonly unknown[] | undefined;
  readonly upTo: unknown[] | undefined;
  readonly size: number;
  /** The chunk's number in the run log and the logs: unique in the run, in the order chunks are taken. */
  readonly no: number;
  /** The failed chunk whose range this one walks again (after a rollback the walk goes back to its lower bound). */
  readonly retryOf?: number;
  state: 'running' | 'committed' | 'failed';
}

/**
 * Where the walk stands. Chunks are taken in key order, one at a time (boundary reads do not overlap), and may
 * then run at the same time on two sessions. Every matching row is covered once every chunk taken has committed;
 * a chunk that failed sends the walk back to its lower bound, once no chunk is running. Walking a range again
 * loses nothing and moves nothing twice: its rows are gone, and a second DELETE (or copy) finds none of them.
 */
export class WalkCursor {
  private after: readonly unknown[] | undefined;
  private atEnd = false;
  /** Chunks taken and not yet behind a run of committed ones, in key order. */
  private open: Claim[] = [];
  private taking: Promise<unknown> = Promise.resolve();
  /** Chunks taken so far: a retried range gets the next number, so no number repeats in the run log. */
  private taken = 0;
  private retrying: number | undefined;

  /** Take the next chunk, its upper boundary read by `read` (one at a time, in order); undefined at the end of the walk. */
  take(read: (after: readonly unknown[] | undefined) => Promise<NextChunk>): Promise<Claim | undefined> {
    const next = this.taking.then(async (): Promise<Claim | undefined> => {
      if (this.atEnd) return undefined;
      const after = this.after;
      const { upTo, size } = await read(after);
      const claim: Claim = { after, upTo, size, no: ++this.taken, ...(this.retrying !== undefined ? { retryOf: this.retrying } : {}), state: 'running' };
      this.retrying = undefined;
      this.after = upTo;
      this.atEnd = upTo === undefined;
      this.open.push(claim);
      return claim;
    });
    this.taking = next.catch(() => undefined);
    return next;
  }

  settle(claim: Claim, state: 'committed' | 'failed'): void {
    claim.state = state;
    while (this.open[0]?.state === 'committed') this.open.shift();
  }

  /** Every chunk up to the end of the walk committed. */
  get finished(): boolean {
    return this.atEnd && this.open.length === 0;
  }

  /** Some chunk failed, so its range is not covered yet. */
  get behind(): boolean {
    return this.open.some((c) => c.state === 'failed');
  }

  /** Back to the first chunk that did not commit. Only while no chunk is running (one session walking). */
  rewind(): void {
    if (!this.behind) return;
    if (this.open.some((c) => c.state === 'running')) throw new Error('walk rewound while a chunk was running');
    this.after = this.open[0]!.after;
    this.retrying = this.open[0]!.no;
    this.atEnd = false;
    this.open = [];
  }
}
