// Per-table sizes, rows, indexes, free space and AUTO_INCREMENT usage, read in a fixed number of catalogue queries.
import type { DbSession } from '../db/connection';
import { autoIncrementUsedPercent } from './auto-increment';
import { estimateFreeSpace, type FragmentationBasis } from './fragmentation';
import { baseTableName, dictionaryPattern, parseDictionaryName } from './innodb-names';
import { isMissingProcessPrivilege } from '../db/privileges';

export interface TableSize {
  readonly schema: string;
  readonly table: string;
  readonly engine: string | null;
  /** information_schema.TABLES.TABLE_ROWS: an estimate for InnoDB. */
  readonly rowsEstimate: number;
  /** Exact COUNT(*), only when configured for small tables. */
  readonly rowsExact?: number;
  readonly dataBytes: number;
  readonly indexBytes: number;
  readonly dataFreeBytes: number;
  /** The table's own tablespace file(s), summed over partitions; null when unknown or shared. */
  readonly fileBytes: number | null;
  /** data + index + free: the space the table occupies (its file when known). */
  readonly totalBytes: number;
  readonly freeBytes: number;
  readonly fragmentationPercent: number | null;
  readonly fragmentationBasis: FragmentationBasis;
  readonly sharedTablespace: boolean;
  readonly indexCount: number;
  /** Each index's size (pages reserved, from persistent statistics), largest first; absent without them. */
  readonly indexSizes?: readonly { readonly index: string; readonly bytes: number }[];
  readonly hasFulltextOrSpatial: boolean;
  /** Partitioned (CREATE_OPTIONS says so): its partitions are read by collect-statistics (lib/stats/partitions.ts). */
  readonly partitioned?: boolean;
  readonly autoIncrement?: { readonly column: string; readonly columnType: string; readonly next: string; readonly usedPercent: number | null };
  /** When InnoDB last wrote persistent statistics for it (UTC ISO), null if never. */
  readonly statsUpdatedAt: string | null;
  /** Rows then vs now differ by more than 10%: page figures are stale until the next ANALYZE. */
  readonly statsStale: boolean;
}

/** Statistics computed for a row count far from today's (more than 10%, and more than 100 rows) no longer describe the table. */
export function statisticsStale(rowsNow: number, rowsAtStats: number | undefined): boolean {
  if (rowsAtStats === undefined) return false;
  const diff = Math.abs(rowsNow - rowsAtStats);
  return diff > 100 && diff > 0.1 * Math.max(rowsNow, rowsAtStats);
}

interface TableRow extends Record<string, unknown> {
  schemaName: string;
  tableName: string;
  engine: string | null;
  rowsEstimate: number | null;
  dataBytes: number | null;
  indexBytes: number | null;
  dataFree: number | null;
  autoIncrement: string | null;
  createOptions: string | null;
}

function key(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

interface Tablespace {
  fileBytes: number;
  shared: boolean;
}

/** What the InnoDB dictionary says per table, read without opening any table. */
interface Dictionary {
  readonly spaces: Map<string, Tablespace>;
  /** MariaDB only: InnoDB tables with a FULLTEXT or SPATIAL index (INNODB_SYS_INDEXES.TYPE bits DICT_FTS 32, DICT_SPATIAL 64). */
  readonly specialIndexes?: ReadonlySet<string>;
}

/**
 * Tablespace files per table from the InnoDB dictionary (INNODB_SYS_* on MariaDB, INNODB_* on
 * MySQL 8). A table is in a shared tablespace when its space is the system one (0), a general
 * tablespace, or a space any other table also uses. Undefined without PROCESS (the views are closed).
 */
async function readDictionary(db: DbSession, schemas: readonly string[]): Promise<Dictionary | undefined> {
  const maria = db.flavour.kind === 'mariadb';
  // Each view read once and joined here. The views have no index: a join of them on the server grows with the
  // square of the table count, and so does a lookup per chunk of ids (each chunk scans the whole view again).
  const tablesView = maria ? 'information_schema.INNODB_SYS_TABLES' : 'information_schema.INNODB_TABLES';
  const spacesView = maria ? 'information_schema.INNODB_SYS_TABLESPACES' : 'information_schema.INNODB_TABLESPACES';
  let rows: { id: number | string; name: string; space: number }[];
  let spaceRows: { space: number; fileSize: number | null; spaceType: string | null }[];
  let special: { id: number | string }[] = [];
  try {
    rows = await db.query<{ id: number | string; name: string; space: number }>(
      `SELECT TABLE_ID AS id, NAME AS name, SPACE AS space FROM ${tablesView} WHERE ${schemas.map(() => 'NAME LIKE ?').join(' OR ')}`,
      schemas.map(dictionaryPattern),
    );
    // All of it, filtered here: a general tablespace (MySQL) is not named after its tables.
    spaceRows = await db.query<{ space: number; fileSize: number | null; spaceType: string | null }>(
      `SELECT SPACE AS space, FILE_SIZE AS fileSize, ${maria ? 'NULL' : 'SPACE_TYPE'} AS spaceType FROM ${spacesView}`,
    );
    // MariaDB's STATISTICS.INDEX_TYPE opens every table (a second reopen of each above table_open_cache); the dictionary knows.
    if (maria) special = await db.query<{ id: number | string }>('SELECT DISTINCT TABLE_ID AS id FROM information_schema.INNODB_SYS_INDEXES WHERE TYPE & 96 <> 0');
  } catch (err) {
    // Without PROCESS the dictionary views are closed: figures fall back to information_schema.TABLES (basis data-free).
    if (isMissingProcessPrivilege(err)) return undefined;
    throw err;
  }
  const spaces = new Map<number, { fileSize: number; spaceType: string | null }>();
  for (const f of spaceRows) spaces.set(Number(f.space), { fileSize: Number(f.fileSize ?? 0), spaceType: f.spaceType });
  const specialIds = new Set(special.map((r) => String(r.id)));
  const tablesPerSpace = new Map<number, number>();
  for (const r of rows) tablesPerSpace.set(Number(r.space), (tablesPerSpace.get(Number(r.space)) ?? 0) + 1);
  const out = new Map<string, Tablespace>();
  const specialIndexes = new Set<string>();
  for (const r of rows) {
    const name = parseDictionaryName(r.name);
    if (!name) continue;
    const k = key(name.schema, name.table);
    const id = Number(r.space);
    const space = id === 0 ? undefined : spaces.get(id);
    const shared = id === 0 || (space?.spaceType != null && space.spaceType !== 'Single') || (tablesPerSpace.get(id) ?? 0) > 1;
    const prev = out.get(k);
    out.set(k, { fileBytes: (prev?.fileBytes ?? 0) + (space?.fileSize ?? 0), shared: (prev?.shared ?? false) || shared });
    if (specialIds.has(String(r.id))) specialIndexes.add(k);
  }
  return { spaces: out, ...(maria ? { specialIndexes } : {}) };
}

/** Above this many tables to look up by name, one STATISTICS.INDEX_TYPE read of the whole schemas: a longer OR of names costs more to match than it saves. */
const INDEX_TYPE_LOOKUP_MAX = 500;

/**
 * Index count per table and whether any index is FULLTEXT or SPATIAL. On MariaDB the count comes from
 * STATISTICS columns the .frm answers (no table opened); the index types of InnoDB tables from the
 * dictionary, and only the other tables (MyISAM, Aria…; few) are opened for INDEX_TYPE.
 */
async function readIndexes(
  db: DbSession,
  tables: readonly TableRow[],
  dictionary: Dictionary | undefined,
  where: { readonly sql: string; readonly params: readonly unknown[] },
): Promise<Map<string, { n: number; special: boolean }>> {
  const withTypes = async (sql: string, params: readonly unknown[]) =>
    db.query<{ schemaName: string; tableName: string; n: number; special: number }>(
      `SELECT TABLE_SCHEMA AS schemaName, TABLE_NAME AS tableName, COUNT(DISTINCT INDEX_NAME) AS n,
              MAX(INDEX_TYPE IN ('FULLTEXT', 'SPATIAL')) AS special
         FROM information_schema.STATISTICS WHERE ${sql} GROUP BY TABLE_SCHEMA, TABLE_NAME`,
      params,
    );
  const out = new Map<string, { n: number; special: boolean }>();
  const special = dictionary?.specialIndexes;
  if (!special) {
    // MySQL 8 answers STATISTICS from its data dictionary; MariaDB without PROCESS has nothing better.
    for (const r of await withTypes(where.sql, where.params)) out.set(key(r.schemaName, r.tableName), { n: Number(r.n), special: Number(r.special) > 0 });
    return out;
  }
  const counts = await db.query<{ schemaName: string; tableName: string; n: number }>(
    `SELECT TABLE_SCHEMA AS schemaName, TABLE_NAME AS tableName, COUNT(DISTINCT INDEX_NAME) AS n
       FROM information_schema.STATISTICS WHERE ${where.sql} GROUP BY TABLE_SCHEMA, TABLE_NAME`,
    where.params,
  );
  for (const r of counts) {
    const k = key(r.schemaName, r.tableName);
    out.set(k, { n: Number(r.n), special: special.has(k) });
  }
  // Tables the dictionary does not describe: other engines, and InnoDB names it spells in a way not decoded here.
  const others = tables.filter((t) => {
    const k = key(t.schemaName, t.tableName);
    return (out.get(k)?.n ?? 0) > 0 && !((t.engine ?? '').toLowerCase() === 'innodb' && dictionary.spaces.has(k));
  });
  if (others.length > 0) {
    // Names in the WHERE are matched before a table is opened: only these are.
    const rows =
      others.length <= INDEX_TYPE_LOOKUP_MAX
        ? await withTypes(`(${others.map(() => '(TABLE_SCHEMA = ? AND TABLE_NAME = ?)').join(' OR ')})`, others.flatMap((t) => [t.schemaName, t.tableName]))
        : await withTypes(where.sql, where.params);
    for (const r of rows) {
      const e = out.get(key(r.schemaName, r.tableName));
      if (e && Number(r.special) > 0) e.special = true;
    }
  }
  return out;
}

/** Leaf pages per table (all indexes, all partitions) and the statistics' age, from InnoDB's persistent statistics. */
async function readPersistentStats(
  db: DbSession,
  schemas: readonly string[],
): Promise<{ leafPages: Map<string, number>; indexPages: Map<string, Map<string, number>>; updatedAt: Map<string, Date | null>; rows: Map<string, number> }> {
  const leafPages = new Map<string, number>();
  const indexPages = new Map<string, Map<string, number>>();
  const updatedAt = new Map<string, Date | null>();
  const rowsAt = new Map<string, number>();
  try {
    const pages = await db.query<{ db: string; tbl: string; idx: string; stat: string; pages: number }>(
      `SELECT database_name AS db, table_name AS tbl, index_name AS idx, stat_name AS stat, stat_value AS pages
         FROM mysql.innodb_index_stats WHERE database_name IN (?) AND stat_name IN ('n_leaf_pages', 'size')`,
      [schemas],
    );
    for (const r of pages) {
      const k = key(r.db, baseTableName(r.tbl));
      if (r.stat === 'n_leaf_pages') {
        leafPages.set(k, (leafPages.get(k) ?? 0) + Number(r.pages));
      } else {
        // Pages reserved per index, partitions summed: the index's size.
        const perIndex = indexPages.get(k) ?? new Map<string, number>();
        perIndex.set(r.idx, (perIndex.get(r.idx) ?? 0) + Number(r.pages));
        indexPages.set(k, perIndex);
      }
    }
    const times = await db.query<{ db: string; tbl: string; at: Date | null; n: number }>(
      'SELECT database_name AS db, table_name AS tbl, last_update AS at, n_rows AS n FROM mysql.innodb_table_stats WHERE database_name IN (?)',
      [schemas],
    );
    for (const r of times) {
      const k = key(r.db, baseTableName(r.tbl));
      rowsAt.set(k, (rowsAt.get(k) ?? 0) + Number(r.n));
      const prev = updatedAt.get(k);
      const at = r.at instanceof Date ? r.at : null;
      if (prev === undefined || (at !== null && prev !== null && at < prev)) updatedAt.set(k, at);
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    // Without SELECT on the mysql statistics tables the figures fall back to information_schema (basis says which).
    if (code !== 'ER_TABLEACCESS_DENIED_ERROR' && code !== 'ER_DBACCESS_DENIED_ERROR') throw err;
  }
  return { leafPages, indexPages, updatedAt, rows: rowsAt };
}

export interface ReadSizesOptions {
  readonly schemas: readonly string[];
  /** Only these tables (schema, table); default all base tables of the schemas. */
  readonly only?: readonly { schema: string; table: string }[];
}

export async function readTableSizes(db: DbSession, opts: ReadSizesOptions): Promise<TableSize[]> {
  const { schemas } = opts;
  if (schemas.length === 0) return [];
  const only = opts.only?.length ? opts.only : undefined;
  const onlySql = only ? ` AND (${only.map(() => '(TABLE_SCHEMA = ? AND TABLE_NAME = ?)').join(' OR ')})` : '';
  const onlyParams = only ? only.flatMap((t) => [t.schema, t.table]) : [];
  const [pageRow] = await db.query<{ pageSize: number }>('SELECT @@innodb_page_size AS pageSize');
  const pageSize = Number(pageRow?.pageSize ?? 16384);
  // CAST: a BIGINT UNSIGNED counter near its end does not survive a double.
  const tables = await db.query<TableRow>(
    `SELECT TABLE_SCHEMA AS schemaName, TABLE_NAME AS tableName, ENGINE AS engine, TABLE_ROWS AS rowsEstimate,
            DATA_LENGTH AS dataBytes, INDEX_LENGTH AS indexBytes, DATA_FREE AS dataFree, CAST(AUTO_INCREMENT AS CHAR) AS autoIncrement,
            CREATE_OPTIONS AS createOptions
       FROM information_schema.TABLES
      WHERE TABLE_SCHEMA IN (?) AND TABLE_TYPE = 'BASE TABLE'${onlySql}
      ORDER BY TABLE_SCHEMA, TABLE_NAME`,
    [schemas, ...onlyParams],
  );
  const autoCols = await db.query<{ schemaName: string; tableName: string; column: string; columnType: string }>(
    `SELECT TABLE_SCHEMA AS schemaName, TABLE_NAME AS tableName, COLUMN_NAME AS \`column\`, COLUMN_TYPE AS columnType
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?) AND EXTRA LIKE '%auto_increment%'${onlySql}`,
    [schemas, ...onlyParams],
  );
  const dictionary = await readDictionary(db, schemas);
  const spaces = dictionary?.spaces ?? new Map<string, Tablespace>();
  const indexBy = await readIndexes(db, tables, dictionary, { sql: `TABLE_SCHEMA IN (?)${onlySql}`, params: [schemas, ...onlyParams] });
  const stats = await readPersistentStats(db, schemas);
  const autoBy = new Map(autoCols.map((a) => [key(a.schemaName, a.tableName), a]));

  return tables.map((t) => {
    const k = key(t.schemaName, t.tableName);
    const innodb = (t.engine ?? '').toLowerCase() === 'innodb';
    const space = innodb ? spaces.get(k) : undefined;
    const leafPages = stats.leafPages.get(k);
    const dataBytes = Number(t.dataBytes ?? 0);
    const indexBytes = Number(t.indexBytes ?? 0);
    const dataFreeBytes = Number(t.dataFree ?? 0);
    const shared = space?.shared ?? false;
    const fileBytes = space && !shared && space.fileBytes > 0 ? space.fileBytes : undefined;
    const rowsEstimate = Number(t.rowsEstimate ?? 0);
    const statsStale = innodb && statisticsStale(rowsEstimate, stats.rows.get(k));
    const est = estimateFreeSpace({
      statsStale,
      dataBytes,
      indexBytes,
      dataFreeBytes,
      sharedTablespace: shared,
      ...(fileBytes !== undefined ? { fileBytes } : {}),
      ...(leafPages !== undefined ? { leafBytes: leafPages * pageSize } : {}),
    });
    const auto = autoBy.get(k);
    const at = stats.updatedAt.get(k) ?? null;
    const perIndex = stats.indexPages.get(k);
    const indexSizes = perIndex ? [...perIndex].map(([index, p]) => ({ index, bytes: p * pageSize })).sort((a, b) => b.bytes - a.bytes) : undefined;
    const idx = indexBy.get(k);
    return {
      schema: t.schemaName,
      table: t.tableName,
      engine: t.engine,
      rowsEstimate,
      dataBytes,
      indexBytes,
      dataFreeBytes,
      fileBytes: fileBytes ?? null,
      totalBytes: fileBytes ?? dataBytes + indexBytes + (shared ? 0 : dataFreeBytes),
      freeBytes: est.freeBytes,
      fragmentationPercent: est.fragmentationPercent,
      fragmentationBasis: est.basis,
      sharedTablespace: shared,
      indexCount: Number(idx?.n ?? 0),
      ...(indexSizes ? { indexSizes } : {}),
      hasFulltextOrSpatial: idx?.special ?? false,
      ...(/\bpartitioned\b/i.test(t.createOptions ?? '') ? { partitioned: true } : {}),
      ...(auto && t.autoIncrement !== null
        ? { autoIncrement: { column: auto.column, columnType: auto.columnType, next: t.autoIncrement, usedPercent: autoIncrementUsedPercent(auto.columnType, t.autoIncrement) } }
        : {}),
      statsUpdatedAt: at ? at.toISOString() : null,
      statsStale,
    };
  });
}
