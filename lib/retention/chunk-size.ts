// Adaptive chunk size: aim each chunk at a target duration (pt-online-schema-change --chunk-time), shorter under contention.

export interface ChunkSizerOptions {
  /** Target duration of a chunk while nobody waits for our locks. */
  readonly targetSeconds: number;
  /** Target duration while row-lock waits are seen: locks are then held only this long. */
  readonly contendedSeconds: number;
  /** Quiet time (sum of clean chunks) before the target may double again; default 1 s. */
  readonly recoverSeconds?: number;
  readonly initialRows: number;
  readonly minRows: number;
  readonly maxRows: number;
  /**
   * Bytes one chunk may move (purge.maxChunkBytes) and the estimated bytes of a row: together they cap every chunk,
   * below `minRows` too, so that no transaction (its undo, redo and binlog events, a replica's apply) outgrows them.
   */
  readonly maxBytes?: number;
  readonly rowBytes?: number;
}

/** Rows a chunk may hold within `maxBytes` at `rowBytes` a row (at least 1); Infinity when either is unknown. */
export function rowsWithinBytes(maxBytes: number | undefined, rowBytes: number | undefined): number {
  return maxBytes && rowBytes && rowBytes > 0 ? Math.max(1, Math.floor(maxBytes / rowBytes)) : Infinity;
}

/**
 * Keeps an exponentially weighted rows-per-second rate and sizes the next chunk to take the
 * current target time. Growth per step is capped (x4) so one fast chunk on cached pages cannot
 * produce a giant chunk on cold ones. When a chunk saw row-lock waits on the server, the
 * target drops to `contendedSeconds` at once and climbs back (x2) only after a second of clean
 * chunks each time: idle servers get large, fast chunks, busy ones short lock holds.
 */
export class ChunkSizer {
  /** The row bounds in force: the configured ones, both lowered to the byte cap. */
  readonly minRows: number;
  readonly maxRows: number;
  private rows: number;
  private rate: number | undefined;
  private target: number;
  private cleanSeconds = 0;

  constructor(private readonly opts: ChunkSizerOptions) {
    this.maxRows = Math.min(opts.maxRows, rowsWithinBytes(opts.maxBytes, opts.rowBytes));
    // Rows too large for minRows of them: a chunk's overhead is nothing beside its rows, so it may shrink to one.
    this.minRows = this.maxRows < opts.minRows ? 1 : opts.minRows;
    this.rows = clamp(opts.initialRows, this.minRows, this.maxRows);
    this.target = opts.targetSeconds;
  }

  get next(): number {
    return this.rows;
  }

  get targetSeconds(): number {
    return this.target;
  }

  /** Whether the contended target is in force (chunks are then short, and lock holds brief). */
  get contended(): boolean {
    return this.target < this.opts.targetSeconds;
  }

  /**
   * Record a finished chunk: `rows` scanned in `seconds`, and whether lock waits or foreground
   * writes happened meanwhile — 'unsampled' when the server was not asked after this chunk (its
   * quiet time then counts only once a later sample confirms it, and never raises the target).
   */
  observe(rows: number, seconds: number, contended: boolean | 'unsampled' = false): void {
    if (rows <= 0) return;
    const observed = rows / Math.max(seconds, 0.001);
    this.rate = this.rate === undefined ? observed : 0.5 * this.rate + 0.5 * observed;
    if (contended === true) {
      this.cleanSeconds = 0;
      this.target = Math.min(this.target, this.opts.contendedSeconds);
    } else if (this.target < this.opts.targetSeconds) {
      this.cleanSeconds += seconds;
      if (contended === false && this.cleanSeconds >= (this.opts.recoverSeconds ?? 1)) {
        this.cleanSeconds = 0;
        this.target = Math.min(this.opts.targetSeconds, this.target * 2);
      }
    }
    this.rows = this.nextSize();
  }

  /** The application was writing before the first chunk: start small, at the contended target. */
  startContended(): void {
    this.cleanSeconds = 0;
    this.target = Math.min(this.target, this.opts.contendedSeconds);
    this.rows = clamp(Math.round(this.rows / 10), this.minRows, this.maxRows);
  }

  /** After a lock wait timeout or deadlock: halve, and treat the server as contended. */
  shrink(): void {
    this.cleanSeconds = 0;
    this.target = Math.min(this.target, this.opts.contendedSeconds);
    this.rows = clamp(Math.floor(this.rows / 2), this.minRows, this.maxRows);
  }

  /**
   * The size the chunk after the current one will probably get: the current rate at the current target,
   * grown at most x4 (with no rate yet, the full x4). A guess for reading ahead; `observe` decides.
   */
  forecast(): number {
    return this.nextSize();
  }

  /** The size to follow the current chunk: the current rate at the current target, at most x4 (no rate yet: x4). */
  private nextSize(): number {
    const ideal = this.rate === undefined ? Infinity : this.rate * this.target;
    return clamp(Math.round(Math.min(ideal, this.rows * 4)), this.minRows, this.maxRows);
  }

  /** Expected duration of the next chunk, for deadline checks. */
  expectedSeconds(): number {
    return this.rate ? this.rows / this.rate : this.target;
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, n));
}
