// The archive table: created from the source's definition when missing (plus archived_at), checked when present.
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { RunLog } from '../runlog/command-log';
import { ARCHIVED_AT, archiveColumns, archiveProblems, describeProblems, type ArchiveColumns } from './archive-compat';
import { inspectTable, type IndexInfo, type TableShape } from './inspect';
import { RuleRefusedError } from './rule-errors';


/**
 * 'ok': a usable archive table exists. 'missing': it would be created. 'missing-schema': so would its schema
 * (createArchiveSchema). 'unfinished': an earlier run was stopped between creating it (CREATE TABLE … LIKE) and
 * adding archived_at — exactly the source's columns, no archived_at, no rows — and it is finished rather than refused.
 */
export type ArchiveState = 'ok' | 'missing' | 'missing-schema' | 'unfinished';

export interface ArchiveTableOptions {
  /** Create a missing archive schema (with the source schema's character set and collation) instead of refusing. */
  readonly createSchema?: boolean;
  /** Source columns the chunk's WHERE uses (key, date, criteria): the archive needs them, generated or not. */
  readonly needed?: readonly string[];
}

interface SchemaCharset {
  readonly charset: string;
  readonly collation: string;
}

async function schemaCharset(db: DbSession, schema: string): Promise<SchemaCharset | undefined> {
  const [row] = await db.query<{ charset: string; collation: string }>(
    'SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS `collation` FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    [schema],
  );
  return row ? { charset: row.charset, collation: row.collation } : undefined;
}

async function isTransactional(db: DbSession, engine: string | null): Promise<boolean> {
  if (engine === null) return false;
  const [row] = await db.query<{ t: string }>('SELECT TRANSACTIONS AS t FROM information_schema.ENGINES WHERE ENGINE = ?', [engine]);
  return String(row?.t ?? '').toUpperCase() === 'YES';
}

/** `CREATE DATABASE` for a missing archive schema, with the source schema's defaults (not the server's). */
function createSchemaSql(schema: string, cs: SchemaCharset): string {
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(schema)} CHARACTER SET ${cs.charset} COLLATE ${cs.collation}`;
}

/** The archive's state; refuses (RuleRefusedError) an archive table or schema that cannot take the source's rows exactly. */
export async function checkArchiveTable(db: DbSession, source: TableShape, schema: string, table: string, opts: ArchiveTableOptions = {}): Promise<ArchiveState> {
  const sourceColumns = source.columns.filter((c) => !c.generated).map((c) => c.name);
  if (source.columns.some((c) => c.name === ARCHIVED_AT)) {
    throw new RuleRefusedError(`${source.schema}.${source.table} already has a column ${ARCHIVED_AT}; archive it into a table you create yourself`);
  }
  if (!(await schemaCharset(db, schema))) {
    if (opts.createSchema) return 'missing-schema';
    const cs = await schemaCharset(db, source.schema);
    throw new RuleRefusedError(
      `archive schema ${schema} does not exist: create it (${cs ? createSchemaSql(schema, cs).replace(' IF NOT EXISTS', '') : `CREATE DATABASE ${quoteIdentifier(schema)}`}) ` +
        `or set createArchiveSchema: true in the rule, which creates it with the character set and collation of ${source.schema}`,
    );
  }
  const existing = await inspectTable(db, schema, table);
  if (!existing) return 'missing';
  const have = new Set(existing.columns.filter((c) => !c.generated).map((c) => c.name));
  const haveAny = new Set(existing.columns.map((c) => c.name));
  // A generated source column need not be archived, unless the chunk's WHERE (run on the archive too) uses it.
  const required = [...new Set([...sourceColumns, ...(opts.needed ?? []), ARCHIVED_AT])];
  const missing = required.filter((c) => !haveAny.has(c));
  let state: ArchiveState = 'ok';
  if (missing.length === 1 && missing[0] === ARCHIVED_AT && have.size === sourceColumns.length) {
    const [row] = await db.query<{ one: number }>(`SELECT 1 AS one FROM ${qualifiedName(schema, table)} LIMIT 1`);
    if (!row) state = 'unfinished';
  }
  if (state === 'ok' && missing.length > 0) {
    throw new RuleRefusedError(`archive table ${schema}.${table} lacks column(s) ${missing.join(', ')} of ${source.schema}.${source.table}`);
  }
  const problems = archiveProblems(source, existing, await isTransactional(db, existing.engine));
  if (problems.length > 0) throw new RuleRefusedError(describeProblems(source, existing, problems));
  return state;
}

/** Returns true when the table (and its schema, when asked for) was created, or an unfinished one finished, by this call. */
export async function ensureArchiveTable(
  db: DbSession,
  source: TableShape,
  schema: string,
  table: string,
  runLog: RunLog,
  opts: ArchiveTableOptions = {},
): Promise<boolean> {
  const state = await checkArchiveTable(db, source, schema, table, opts);
  if (state === 'ok') return false;
  const target = qualifiedName(schema, table);
  const cs = state === 'missing-schema' ? await schemaCharset(db, source.schema) : undefined;
  const ddl = [
    ...(cs ? [createSchemaSql(schema, cs)] : []),
    ...(state === 'missing' || state === 'missing-schema' ? [`CREATE TABLE IF NOT EXISTS ${target} LIKE ${qualifiedName(source.schema, source.table)}`] : []),
    // Secondary unique keys of a live table need not hold across years of archive; the key still forbids duplicates.
    `ALTER TABLE ${target} ${[
      `ADD COLUMN ${quoteIdentifier(ARCHIVED_AT)} DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)`,
      ...source.indexes
        .filter((i) => i.unique && i.name !== 'PRIMARY' && i !== source.key)
        .flatMap((i) => [`DROP INDEX ${quoteIdentifier(i.name)}`, `ADD INDEX ${quoteIdentifier(i.name)} (${i.columns.map(quoteIdentifier).join(', ')})`]),
    ].join(', ')}`,
  ];
  for (const sql of ddl) await runLog.command({ type: 'ARCHIVE-DDL', sql, schema, table }, () => db.exec(sql));
  return true;
}

/** What an archive chunk needs to know about the (checked, existing) archive table. */
export interface ArchiveLayout extends ArchiveColumns {
  /** The archive table, with an index hint when it has the walked index (same name, same columns). */
  readonly verifyFrom: string;
}

export async function archiveLayout(db: DbSession, source: TableShape, schema: string, table: string, walked: IndexInfo): Promise<ArchiveLayout> {
  const archive = await inspectTable(db, schema, table);
  if (!archive) throw new RuleRefusedError(`archive table ${schema}.${table} disappeared before the first chunk`);
  const same = archive.indexes.find((i) => i.name === walked.name && i.columns.join('\u0000') === walked.columns.join('\u0000'));
  return { ...archiveColumns(source, archive), verifyFrom: `${qualifiedName(schema, table)}${same ? ` FORCE INDEX (${quoteIdentifier(same.name)})` : ''}` };
}
