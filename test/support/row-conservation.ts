// Invariants checked after every injected fault: each row in the source or the archive exactly once, unchanged;
// only matching rows gone; the run log's completed chunks account for exactly the rows that went.
import type mysql from 'mysql2/promise';

type Queryable = Pick<mysql.Connection, 'query'>;

export interface TableName {
  readonly schema: string;
  readonly table: string;
}

export function q(t: TableName): string {
  return `\`${t.schema}\`.\`${t.table}\``;
}

/** What is compared: the key as text, a hash of the columns no fault may change, and the rule's predicate. */
export interface ConservationSpec {
  readonly source: TableName;
  /** Archive rules: where the rows go. */
  readonly archive?: TableName;
  /** SQL expression: the primary key as text. */
  readonly key: string;
  /** SQL expression over the columns that must survive unchanged (not archived_at, not columns a test writer touches). */
  readonly content: string;
  /** SQL condition: the rule's predicate with its fixed cutoff, as bound parameters. */
  readonly match: string;
  readonly matchParams: readonly unknown[];
}

export interface RowSnapshot {
  /** key → content hash, over source and archive. */
  readonly rows: ReadonlyMap<string, string>;
  /** Keys in the source that the rule matches. */
  readonly matching: ReadonlySet<string>;
  readonly sourceRows: number;
  readonly archiveRows: number;
}

async function rowsOf(db: Queryable, spec: ConservationSpec, table: TableName): Promise<{ key: string; content: string; matches: number }[]> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    `SELECT ${spec.key} AS k, ${spec.content} AS c, (${spec.match}) AS m FROM ${q(table)}`,
    [...spec.matchParams],
  );
  return rows.map((r) => ({ key: String(r['k']), content: String(r['c']), matches: Number(r['m']) }));
}

async function tableExists(db: Queryable, t: TableName): Promise<boolean> {
  const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [t.schema, t.table]);
  return rows.length > 0;
}

/** An archive table without archived_at (an unfinished creation) is read like any other: its rows are what counts. */
async function archiveRows(db: Queryable, spec: ConservationSpec): Promise<{ key: string; content: string; matches: number }[]> {
  if (!spec.archive || !(await tableExists(db, spec.archive))) return [];
  return rowsOf(db, spec, spec.archive);
}

export async function snapshotRows(db: Queryable, spec: ConservationSpec): Promise<RowSnapshot> {
  const source = await rowsOf(db, spec, spec.source);
  const archive = await archiveRows(db, spec);
  const rows = new Map<string, string>();
  for (const r of [...source, ...archive]) rows.set(r.key, r.content);
  return { rows, matching: new Set(source.filter((r) => r.matches === 1).map((r) => r.key)), sourceRows: source.length, archiveRows: archive.length };
}

export interface ConservationReport {
  readonly violations: string[];
  /** Rows compared (source + archive now). */
  readonly rowsChecked: number;
  /** Rows that left the source since the snapshot. */
  readonly removed: number;
  /** Rows that arrived in the archive since the snapshot. */
  readonly archived: number;
  /** Rows in the source that the rule still matches. */
  readonly stillMatching: number;
}

const MAX_LISTED = 5;
function listed(keys: readonly string[]): string {
  return `${keys.slice(0, MAX_LISTED).join(', ')}${keys.length > MAX_LISTED ? ` … (${keys.length})` : ''}`;
}

/**
 * Compare the source (and archive) now with a snapshot taken before the run(s): source ∪ archive = original,
 * source ∩ archive = ∅, no key twice, no row changed, and only rows the rule matched have left the source.
 */
export async function checkConservation(db: Queryable, spec: ConservationSpec, before: RowSnapshot): Promise<ConservationReport> {
  const violations: string[] = [];
  const source = await rowsOf(db, spec, spec.source);
  const archive = await archiveRows(db, spec);
  const keysOf = (rows: readonly { key: string }[]) => {
    const keys = new Set<string>();
    const twice: string[] = [];
    for (const r of rows) {
      if (keys.has(r.key)) twice.push(r.key);
      keys.add(r.key);
    }
    return { keys, twice };
  };
  const { keys: inSource, twice: dupSource } = keysOf(source);
  const { keys: inArchive, twice: dupArchive } = keysOf(archive);
  if (dupSource.length) violations.push(`source holds keys twice: ${listed(dupSource)}`);
  if (dupArchive.length) violations.push(`archive holds keys twice: ${listed(dupArchive)}`);
  const both = [...inSource].filter((k) => inArchive.has(k));
  if (both.length) violations.push(`in the source and the archive: ${listed(both)}`);
  const changed = [...source, ...archive].filter((r) => before.rows.has(r.key) && before.rows.get(r.key) !== r.content).map((r) => r.key);
  if (changed.length) violations.push(`rows changed: ${listed(changed)}`);
  const unknown = [...source, ...archive].filter((r) => !before.rows.has(r.key)).map((r) => r.key);
  if (unknown.length) violations.push(`rows that were not there before: ${listed(unknown)}`);
  const gone = [...before.rows.keys()].filter((k) => !inSource.has(k) && !inArchive.has(k));
  if (spec.archive) {
    if (gone.length) violations.push(`rows lost (in neither the source nor the archive): ${listed(gone)}`);
  } else {
    const wronglyGone = gone.filter((k) => !before.matching.has(k));
    if (wronglyGone.length) violations.push(`rows deleted that the rule did not match: ${listed(wronglyGone)}`);
  }
  const archivedNotMatching = archive.filter((r) => r.matches !== 1).map((r) => r.key);
  if (archivedNotMatching.length) violations.push(`archived rows the rule does not match: ${listed(archivedNotMatching)}`);
  return {
    violations,
    rowsChecked: source.length + archive.length,
    removed: before.sourceRows - source.length,
    archived: archive.length - before.archiveRows,
    stillMatching: source.filter((r) => r.matches === 1).length,
  };
}

export interface ChunkLogRow {
  readonly id: number;
  readonly type: string;
  readonly rows: number | null;
  readonly errorNumber: number | null;
  readonly errorMessage: string | null;
  readonly ended: boolean;
  readonly chunk: number | null;
  /** The failed chunk whose range this one walks again. */
  readonly retryOf: number | null;
  readonly chunkRows: number | null;
}

/** The chunk rows of one run (of one source table, when given). */
export async function chunkLog(db: Queryable, logTable: TableName, runId: string, table?: string): Promise<ChunkLogRow[]> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    `SELECT id, command_type AS type, rows_affected AS n, error_number AS en, error_message AS em, ended_at IS NOT NULL AS ended, extra
       FROM ${q(logTable)} WHERE run_id = ? AND command_type IN ('PURGE-CHUNK', 'ARCHIVE-CHUNK') AND (? IS NULL OR table_name = ?) ORDER BY id`,
    [runId, table ?? null, table ?? null],
  );
  return rows.map((r) => {
    const extra = r['extra'] ? (JSON.parse(String(r['extra'])) as { chunk?: number; retryOf?: number; chunkRows?: number }) : {};
    return {
      id: Number(r['id']),
      type: String(r['type']),
      rows: r['n'] === null ? null : Number(r['n']),
      errorNumber: r['en'] === null ? null : Number(r['en']),
      errorMessage: r['em'] === null ? null : String(r['em']),
      ended: Number(r['ended']) === 1,
      chunk: extra.chunk ?? null,
      retryOf: extra.retryOf ?? null,
      chunkRows: extra.chunkRows ?? null,
    };
  });
}

export interface RunLogReport {
  readonly violations: string[];
  readonly completed: readonly ChunkLogRow[];
  readonly failed: readonly ChunkLogRow[];
}

/**
 * The run log of one run says what happened: every chunk row is either completed (ended, rows counted, no
 * error) or failed (with an error); a killed chunk left no row (its row rolled back with it); the completed
 * chunks add up to exactly the rows that left the source, and no chunk number appears twice (a retry gets a new one).
 */
export async function checkRunLog(db: Queryable, logTable: TableName, runId: string, removed: number, table?: string): Promise<RunLogReport> {
  const violations: string[] = [];
  const rows = await chunkLog(db, logTable, runId, table);
  const failed = rows.filter((r) => r.errorNumber !== null || r.errorMessage !== null);
  const completed = rows.filter((r) => r.errorNumber === null && r.errorMessage === null);
  for (const r of completed) {
    if (!r.ended || r.rows === null) violations.push(`run log row ${r.id} (chunk ${r.chunk}) has no end or no row count and no error`);
  }
  for (const r of failed) {
    if (r.errorMessage === null || r.errorMessage === '') violations.push(`run log row ${r.id} (chunk ${r.chunk}) failed without a message`);
  }
  const sum = completed.reduce((n, r) => n + (r.rows ?? 0), 0);
  if (sum !== removed) violations.push(`run log: completed chunks moved ${sum} rows, the source lost ${removed}`);
  const numbers = rows.map((r) => r.chunk);
  if (new Set(numbers).size !== numbers.length) violations.push(`run log: a chunk number appears twice (${numbers.join(', ')})`);
  return { violations, completed, failed };
}
