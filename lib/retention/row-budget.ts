// purge.maxRowsPerRun: the rows one cleanup or archive invocation may move, shared by its rules and lanes; chunks are cut to what is left.

/** Thrown from inside a chunk's boundary read when nothing is left of the budget: no chunk is taken. */
export const BUDGET_SPENT = Symbol('row budget spent');

export class RowBudget {
  private left: number;

  constructor(readonly limit: number) {
    this.left = limit;
  }

  get spent(): boolean {
    return this.left <= 0;
  }

  /** Up to `wanted` rows for one chunk, taken from the budget now (two lanes never both get the last rows). */
  reserve(wanted: number): number {
    const got = Math.max(0, Math.min(wanted, this.left));
    this.left -= got;
    return got;
  }

  /** A chunk moved `moved` of the `reserved` rows (none when it rolled back): the rest goes back. */
  settle(reserved: number, moved: number): void {
    this.left += reserved - Math.min(moved, reserved);
  }
}
