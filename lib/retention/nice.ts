// Rest between chunks under a live load (gh-ost --nice-ratio), owed per chunk and taken in whole milliseconds.

/**
 * A timer cannot sleep 0.25 ms: asked for it, it sleeps a millisecond or more, and a 5 ms chunk with
 * nice ratio 0.05 would rest four times what was asked. So rest is owed per chunk, taken once a whole
 * millisecond is owed, and paid off by the time actually slept (an overslept timer is credited).
 */
export class RestBudget {
  private owedMs = 0;

  constructor(private readonly ratio: number) {}

  /** A chunk of `seconds` ran while the application was live. */
  owe(seconds: number): void {
    if (this.ratio > 0) this.owedMs += seconds * this.ratio * 1000;
  }

  /** Whole milliseconds to rest now (0: not yet a whole millisecond owed). */
  dueMs(): number {
    return this.owedMs >= 1 ? Math.floor(this.owedMs) : 0;
  }

  /** `ms` were actually slept. */
  paid(ms: number): void {
    this.owedMs -= ms;
  }
}
