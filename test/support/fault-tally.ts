// Per fault class: iterations run, invariant violations found (with where), rows checked; one summary line.

export class FaultTally {
  iterations = 0;
  rowsChecked = 0;
  readonly violations: string[] = [];

  constructor(readonly name: string) {}

  /** Record one check: its violations are kept with `where` (seed, iteration, scenario) so a failure reproduces. */
  record(where: string, check: { readonly violations: readonly string[]; readonly rowsChecked?: number }): readonly string[] {
    this.rowsChecked += check.rowsChecked ?? 0;
    const found = check.violations.map((v) => `${where}: ${v}`);
    this.violations.push(...found);
    return found;
  }

  /** One fault injected and checked. */
  iteration(): void {
    this.iterations++;
  }

  line(): string {
    return `fault-class ${this.name}: iterations ${this.iterations}, invariant violations ${this.violations.length}, rows checked ${this.rowsChecked}`;
  }
}
