// A run's time budget: the Lambda's remaining time (or maxRunSeconds) as an absolute deadline lib/ can check.

export class Deadline {
  constructor(
    /** Epoch milliseconds after which no new unit of work may start. */
    readonly at: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Deadline `remainingMs` from now, less a safety margin for reporting and closing the session. */
  static fromRemaining(remainingMs: number, safetyMarginMs: number, now: () => number = Date.now): Deadline {
    return new Deadline(now() + Math.max(0, remainingMs - safetyMarginMs), now);
  }

  static unlimited(): Deadline {
    return new Deadline(Number.POSITIVE_INFINITY);
  }

  remainingMs(): number {
    return this.at - this.now();
  }

  /** True when less than `needMs` is left: the caller should stop before starting more work. */
  isNear(needMs = 0): boolean {
    return this.remainingMs() <= needMs;
  }

  /** The earlier of this deadline and `seconds` from now (a run's own `maxRunSeconds`). */
  capped(seconds: number | undefined): Deadline {
    if (seconds === undefined) return this;
    return new Deadline(Math.min(this.at, this.now() + seconds * 1000), this.now);
  }
}
