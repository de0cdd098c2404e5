// Adaptive chunk size: aim each chunk at a target duration, like pt-online-schema-change's --chunk-time.

export interface ChunkSizerOptions {
  readonly targetSeconds: number;
  readonly initialRows: number;
  readonly minRows: number;
  readonly maxRows: number;
}

/**
 * Keeps an exponentially weighted rows-per-second rate and sizes the next chunk so it
 * should take `targetSeconds`. Growth per step is capped (x2) so one fast chunk on cached
 * pages cannot produce a giant chunk on cold ones; shrinking is immediate.
 */
export class ChunkSizer {
  private rows: number;
  private rate: number | undefined;

  constructor(private readonly opts: ChunkSizerOptions) {
    this.rows = clamp(opts.initialRows, opts.minRows, opts.maxRows);
  }

  get next(): number {
    return this.rows;
  }

  /** Record a finished chunk: `rows` scanned in `seconds`. */
  observe(rows: number, seconds: number): void {
    if (rows <= 0) return;
    const observed = rows / Math.max(seconds, 0.001);
    this.rate = this.rate === undefined ? observed : 0.5 * this.rate + 0.5 * observed;
    const ideal = this.rate * this.opts.targetSeconds;
    this.rows = clamp(Math.round(Math.min(ideal, this.rows * 2)), this.opts.minRows, this.opts.maxRows);
  }

  /** After a lock wait timeout or deadlock: halve, so the retry holds fewer locks. */
  shrink(): void {
    this.rows = clamp(Math.floor(this.rows / 2), this.opts.minRows, this.opts.maxRows);
  }

  /** Expected duration of the next chunk, for deadline checks. */
  expectedSeconds(): number {
    return this.rate ? this.rows / this.rate : this.opts.targetSeconds;
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, n));
}
