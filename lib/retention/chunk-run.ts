// One chunk of a retention walk: its transaction, its run-log row, commit or rollback, and what a failure means.
import type { DbSession } from '../db/connection';
import { errno, isFatal, sqlMessage } from '../db/errors';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { LockWatch } from '../db/lock-diagnostics';
import type { ArchiveLayout } from './archive-table';
import { deleteUpToBound } from './bounded-delete';
import { checkCascadeCount, countChunkCascade, type ChildRowCount } from './cascade';
import type { SqlPart } from './keyset';
import type { Plan } from './plan';
import { describeChecksum, readChecksum, rowChecksumSelect, sameContent } from './row-checksum';
import { ChunkContentMismatchError, ChunkCountMismatchError } from './rule-errors';
import { round, type EngineOptions, type RetentionRule } from './rule-result';
import { copyRefusedMessage } from './strict-mode';
import type { Claim } from './walk-state';
import { deleteFirstRows, rangeDelete, type Walker } from './walk-sql';

const RETRYABLE = new Set([1205, 1213]); // lock wait timeout, deadlock
const FK_ERRORS = new Set([1451, 1217]);

/** How one chunk ended: committed with the rows it moved, or rolled back with what the walk should do about it. */
export type ChunkOutcome =
  | { readonly committed: true; readonly moved: number; readonly childRows?: readonly ChildRowCount[] }
  | { readonly committed: false; readonly retryable: boolean; readonly error: unknown; readonly errno?: number; readonly message: string };

/** What every chunk of one walk shares. */
export interface ChunkJob {
  readonly rule: RetentionRule;
  readonly plan: Plan;
  readonly opts: EngineOptions;
  readonly walker: Walker;
  readonly locks: LockWatch;
  /** Archive rules: where the copies go and how they are compared. */
  readonly layout?: ArchiveLayout;
}

/** One chunk to run: taken from the cursor at `started` (epoch ms; its time includes reading its boundary). */
export interface ChunkTask {
  readonly claim: Claim;
  readonly where: SqlPart;
  /** Two walkers on neighbouring key ranges: the DELETE ends at the chunk's last row (bounded-delete.ts). */
  readonly bounded: boolean;
  readonly started: number;
}

/**
 * Run one chunk in its own transaction on `session` (autocommit off): the rows of `where`, moved by a range DELETE, a
 * bounded DELETE or an archive copy. The chunk's run-log row commits with it; a chunk that fails is rolled back and its
 * failure logged and committed alone. A dead connection throws.
 */
export async function runChunk(job: ChunkJob, session: DbSession, task: ChunkTask): Promise<ChunkOutcome> {
  const { rule, plan, opts, walker } = job;
  const { claim, where, bounded, started } = task;
  const table = qualifiedName(rule.schema, rule.table);
  const startedAt = new Date(started);
  const range = rangeDelete(table, walker.source, where);
  const sql = rule.action === 'archive' ? `INSERT INTO … SELECT … / ${range.sql}` : bounded ? deleteFirstRows(table, walker.keyOrder, where, claim.size).sql : range.sql;
  const type = rule.action === 'delete' ? 'PURGE-CHUNK' : 'ARCHIVE-CHUNK';
  const { after, upTo } = claim;
  const extra = { chunk: claim.no, ...(claim.retryOf !== undefined ? { retryOf: claim.retryOf } : {}), chunkRows: claim.size, walk: walker.kind, after: after ?? null, upTo: upTo ?? null };
  const lockContext = {
    tables: [{ schema: rule.schema, table: rule.table }, ...(rule.action === 'archive' ? [{ schema: rule.archiveSchema, table: rule.archiveTable }] : [])],
    wants: 'write' as const,
  };
  try {
    // Cascading children are counted in the chunk's transaction, its rows locked, before its DELETE (lib/retention/cascade.ts).
    let cascaded: Awaited<ReturnType<typeof countChunkCascade>> | undefined;
    const moved = await job.locks.during(session, lockContext, async () => {
      if (plan.cascade && rule.action === 'delete') cascaded = await countChunkCascade(session, plan.cascade, walker.source, where);
      if (rule.action === 'archive') return archiveChunk(session, job, where, startedAt, claim.no);
      if (bounded) return deleteUpToBound(session, table, walker.source, walker.keyOrder, where, claim.size);
      return (await session.exec(range.sql, range.params)).affectedRows;
    });
    if (cascaded) checkCascadeCount(cascaded, moved);
    const endedAt = new Date();
    const spec = { type, sql, schema: rule.schema, table: rule.table, extra: { ...extra, seconds: round((endedAt.getTime() - started) / 1000), ...(cascaded ? { childRows: cascaded.rows } : {}) } };
    // The chunk's run-log row commits with the chunk itself: one commit (one log flush) per chunk.
    await opts.runLog.writeCompleted(spec, startedAt, endedAt, { rowsAffected: moved }, session);
    await session.exec('COMMIT');
    opts.runLog.remember(spec, startedAt, endedAt, { rowsAffected: moved });
    return { committed: true, moved, ...(cascaded ? { childRows: cascaded.rows } : {}) };
  } catch (err) {
    // A dead connection ends the run: the server has rolled the open chunk back, and nothing else can be done on it.
    if (isFatal(err)) throw err;
    await session.exec('ROLLBACK');
    const code = errno(err);
    const spec = { type, sql, schema: rule.schema, table: rule.table, extra };
    await opts.runLog.recordCompleted(spec, startedAt, { ...(code !== undefined ? { errorNumber: code } : {}), errorMessage: sqlMessage(err) }, session);
    await session.exec('COMMIT'); // the failure's run-log row (autocommit is off)
    const name = `${rule.schema}.${rule.table}`;
    const message =
      code !== undefined && FK_ERRORS.has(code)
        ? `chunk ${claim.no} refused by a foreign key (${sqlMessage(err)}); child rows must go first. Not retried.`
        : `chunk ${claim.no} failed: ${(rule.action === 'archive' ? copyRefusedMessage(code, sqlMessage(err), name) : undefined) ?? sqlMessage(err)}`;
    const retryable = (code !== undefined && RETRYABLE.has(code)) || err instanceof ChunkCountMismatchError;
    return { committed: false, retryable, error: err, ...(code !== undefined ? { errno: code } : {}), message };
  }
}

/**
 * The body of one archive chunk, inside the caller's transaction: lock the rows and checksum them, copy them, checksum
 * the copies, delete the originals. Counts or checksums that disagree throw, and the caller rolls the chunk back. A kill
 * or timeout at any point rolls the whole chunk back: a row is in the source or in the archive, never both.
 */
async function archiveChunk(db: DbSession, job: ChunkJob, where: SqlPart, archivedAt: Date, chunk: number): Promise<number> {
  const { rule, walker, opts } = job;
  if (rule.action !== 'archive' || !job.layout) throw new Error('archiveChunk: not an archive rule');
  const layout = job.layout;
  const table = qualifiedName(rule.schema, rule.table);
  const archive = qualifiedName(rule.archiveSchema, rule.archiveTable);
  const source = walker.source;
  const checksum = rowChecksumSelect(layout.compared);
  const copied = layout.copied.map(quoteIdentifier).join(', ');
  // `source`: the table with its index hint. The checksum is read by the statement that locks the rows: what it sums is what is copied.
  const [lockedRow] = await db.query<Record<string, unknown>>(`SELECT ${checksum} FROM ${source} WHERE ${where.sql} FOR UPDATE`, where.params);
  const locked = readChecksum(lockedRow);
  const inserted = (await db.exec(`INSERT INTO ${archive} (${copied}, \`archived_at\`) SELECT ${copied}, ? FROM ${source} WHERE ${where.sql}`, [archivedAt, ...where.params])).affectedRows;
  await opts.faults?.betweenInsertAndDelete?.(chunk);
  if (inserted !== locked.rows) {
    throw new ChunkCountMismatchError(`archive counts disagree (locked ${locked.rows}, copied ${inserted}); chunk rolled back`);
  }
  // This chunk's copies: its key range (the same WHERE) and its archived_at. Earlier copies in the range have another archived_at.
  const [copiedRow] = await db.query<Record<string, unknown>>(`SELECT ${checksum} FROM ${layout.verifyFrom} WHERE \`archived_at\` = ? AND ${where.sql}`, [archivedAt, ...where.params]);
  const copies = readChecksum(copiedRow);
  if (!sameContent(locked, copies)) {
    throw new ChunkContentMismatchError(
      `the archive does not hold the chunk's rows as the source did (source ${describeChecksum(locked)}; archive ${describeChecksum(copies)}): ` +
        `a trigger or a conversion on ${archive} changed them. Chunk rolled back, nothing deleted. Not retried.`,
    );
  }
  const range = rangeDelete(table, source, where);
  const deleted = (await db.exec(range.sql, range.params)).affectedRows;
  if (deleted !== locked.rows) {
    throw new ChunkCountMismatchError(`archive counts disagree (locked ${locked.rows}, copied ${inserted}, deleted ${deleted}); chunk rolled back`);
  }
  return deleted;
}
