// The LATEST DETECTED DEADLOCK section of SHOW ENGINE INNODB STATUS, read into the transactions it names.

export interface DeadlockTransaction {
  /** The transaction's number in the section: (1), (2), … */
  readonly n: number;
  readonly connectionId: number;
  readonly user: string | null;
  readonly host: string | null;
  /** The statement it was running (first line), if printed. */
  readonly statement: string | null;
  /** `schema`.`table` and index of the lock it waited for, if printed. */
  readonly waitedFor: string | null;
}

export interface DeadlockReport {
  /** When the server detected it, as printed (server time zone). */
  readonly at: string | null;
  readonly transactions: readonly DeadlockTransaction[];
  /** The transaction the server rolled back. */
  readonly rolledBack: number | null;
}

/**
 * Parse the section out of the status text. MySQL prints "MySQL thread id 12, OS thread handle …, query id 34
 * host user state"; MariaDB prints "MariaDB thread id …" in the same shape. Undefined when there is no section.
 */
export function parseLatestDeadlock(status: string): DeadlockReport | undefined {
  const start = status.indexOf('LATEST DETECTED DEADLOCK');
  if (start < 0) return undefined;
  // The section ends where the next one (TRANSACTIONS, or FILE I/O on some versions) begins.
  const rest = status.slice(start);
  const end = rest.search(/\n-{4,}\n(TRANSACTIONS|FILE I\/O|BUFFER POOL)/);
  const section = end > 0 ? rest.slice(0, end) : rest;
  const at = /\n(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/.exec(section)?.[1] ?? null;
  const parts = section.split(/\*\*\* \((\d+)\) TRANSACTION:\n/);
  const transactions: DeadlockTransaction[] = [];
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const n = Number(parts[i]);
    const body = parts[i + 1]!;
    const thread = /(?:MySQL|MariaDB) thread id (\d+), OS thread handle \w+, query id \d+(?: (\S+))?(?: (\S+))?/.exec(body);
    if (!thread) continue;
    const lines = body.split('\n');
    const threadLine = lines.findIndex((l) => /(?:MySQL|MariaDB) thread id \d+/.test(l));
    const next = lines[threadLine + 1]?.trim() ?? '';
    const statement = next && !next.startsWith('***') ? next : null;
    const waited = /WAITING FOR THIS LOCK TO BE GRANTED:\n[^\n]*?index (\S+) of table (`[^\n]*?`\.`[^\n]*?`)/.exec(body);
    transactions.push({
      n,
      connectionId: Number(thread[1]),
      host: thread[2] ?? null,
      user: thread[3] ?? null,
      statement,
      waitedFor: waited ? `${waited[2]} (index ${waited[1]})` : null,
    });
  }
  const rolledBack = /\*\*\* WE ROLL BACK TRANSACTION \((\d+)\)/.exec(section);
  return { at, transactions, rolledBack: rolledBack ? Number(rolledBack[1]) : null };
}
