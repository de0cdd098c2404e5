// What the retention engine must know about a table before touching it: key, date index, columns, child tables.
import type { DbSession } from '../db/connection';

export interface ColumnInfo {
  readonly name: string;
  /** COLUMN_TYPE as the server prints it: `decimal(12,4)`, `int(10) unsigned`, `enum('a','b')`. */
  readonly columnType: string;
  readonly dataType: string;
  readonly generated: boolean;
  readonly nullable: boolean;
  /** Character columns: maximum length in characters and in bytes; null for other types. */
  readonly charMaxLength: number | null;
  readonly octetLength: number | null;
  readonly numericPrecision: number | null;
  readonly numericScale: number | null;
  /** Fractional seconds of DATETIME, TIMESTAMP and TIME (0-6); null for other types. */
  readonly datetimePrecision: number | null;
  readonly characterSet: string | null;
  readonly collation: string | null;
  /** The expression of a generated column; null otherwise. */
  readonly generationExpression: string | null;
  /** Lower-cased EXTRA: `auto_increment`, `virtual generated`, `stored generated`, `default_generated`… */
  readonly extra: string;
  /** COLUMN_DEFAULT as text; null when the column has none (or, on MySQL, DEFAULT NULL). */
  readonly columnDefault: string | null;
}

export interface IndexInfo {
  readonly name: string;
  readonly unique: boolean;
  readonly columns: readonly string[];
  /** A column indexed by prefix only (e.g. VARCHAR(255)(20)) cannot order a keyset walk. */
  readonly hasPrefix: boolean;
}

export interface ChildTable {
  readonly schema: string;
  readonly table: string;
  readonly constraint: string;
  readonly deleteRule: string;
}

export interface TableShape {
  readonly schema: string;
  readonly table: string;
  readonly engine: string | null;
  readonly tableType: string;
  readonly rowsEstimate: number;
  /**
   * Average bytes of a row from the table's statistics (DATA_LENGTH / TABLE_ROWS; InnoDB counts off-page BLOB pages
   * in DATA_LENGTH); null when the statistics have no rows. An estimate, and stale until statistics are recalculated.
   */
  readonly avgRowBytes: number | null;
  readonly columns: readonly ColumnInfo[];
  readonly indexes: readonly IndexInfo[];
  /** The primary key, or the first unique index on NOT NULL columns; undefined when there is none. */
  readonly key?: IndexInfo;
  readonly children: readonly ChildTable[];
}

export async function inspectTable(db: DbSession, schema: string, table: string): Promise<TableShape | undefined> {
  const [info] = await db.query<{ engine: string | null; tableType: string; rows: number | null; dataLength: number | null }>(
    `SELECT ENGINE AS engine, TABLE_TYPE AS tableType, TABLE_ROWS AS \`rows\`, DATA_LENGTH AS dataLength
       FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
    [schema, table],
  );
  if (!info) return undefined;
  // GENERATION_EXPRESSION, not EXTRA: MySQL 8 marks columns with a DEFAULT expression DEFAULT_GENERATED,
  // and those must be copied like any other column.
  const columns = await db.query<{
    name: string;
    columnType: string;
    dataType: string;
    nullable: string;
    generation: string | null;
    charMax: number | string | null;
    octets: number | string | null;
    precision: number | string | null;
    scale: number | string | null;
    fsp: number | string | null;
    charset: string | null;
    collation: string | null;
    extra: string | null;
    dflt: string | null;
  }>(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS columnType, DATA_TYPE AS dataType, IS_NULLABLE AS nullable, GENERATION_EXPRESSION AS generation,
            CHARACTER_MAXIMUM_LENGTH AS charMax, CHARACTER_OCTET_LENGTH AS octets, NUMERIC_PRECISION AS \`precision\`, NUMERIC_SCALE AS scale,
            DATETIME_PRECISION AS fsp, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS \`collation\`, EXTRA AS extra, COLUMN_DEFAULT AS dflt
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [schema, table],
  );
  const num = (v: number | string | null) => (v === null || v === undefined ? null : Number(v));
  // SELECT *: IS_VISIBLE (MySQL 8) and IGNORED (MariaDB 10.6+) exist on one server each.
  const stats = (
    await db.query<Record<string, unknown>>(
      `SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
      [schema, table],
    )
  ).map((r) => ({
    indexName: String(r['INDEX_NAME']),
    nonUnique: Number(r['NON_UNIQUE']),
    column: r['COLUMN_NAME'] === null || r['COLUMN_NAME'] === undefined ? null : String(r['COLUMN_NAME']),
    subPart: r['SUB_PART'] === null || r['SUB_PART'] === undefined ? null : Number(r['SUB_PART']),
    // An invisible or ignored index cannot be forced; a functional key part has no column.
    unusable: String(r['IS_VISIBLE'] ?? 'YES').toUpperCase() === 'NO' || String(r['IGNORED'] ?? 'NO').toUpperCase() === 'YES',
  }));
  const children = await db.query<ChildTable>(
    `SELECT k.TABLE_SCHEMA AS \`schema\`, k.TABLE_NAME AS \`table\`, k.CONSTRAINT_NAME AS \`constraint\`, r.DELETE_RULE AS deleteRule
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.REFERENTIAL_CONSTRAINTS r
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
      WHERE k.REFERENCED_TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME = ? AND k.ORDINAL_POSITION = 1`,
    [schema, table],
  );

  const byName = new Map<string, { unique: boolean; columns: string[]; hasPrefix: boolean; unusable: boolean }>();
  for (const s of stats) {
    const idx = byName.get(s.indexName) ?? { unique: s.nonUnique === 0, columns: [], hasPrefix: false, unusable: false };
    if (s.column === null) idx.unusable = true;
    else idx.columns.push(s.column);
    if (s.subPart !== null) idx.hasPrefix = true;
    if (s.unusable) idx.unusable = true;
    byName.set(s.indexName, idx);
  }
  const indexes: IndexInfo[] = [...byName].filter(([, i]) => !i.unusable).map(([name, { unusable: _unusable, ...i }]) => ({ name, ...i }));
  const notNull = new Set(columns.filter((c) => c.nullable === 'NO').map((c) => c.name));
  const primary = indexes.find((i) => i.name === 'PRIMARY');
  const key =
    primary ??
    indexes
      .filter((i) => i.unique && !i.hasPrefix && i.columns.every((c) => notNull.has(c)))
      .sort((a, b) => a.columns.length - b.columns.length)[0];
  return {
    schema,
    table,
    engine: info.engine,
    tableType: info.tableType,
    rowsEstimate: Number(info.rows ?? 0),
    avgRowBytes: Number(info.rows ?? 0) > 0 && Number(info.dataLength ?? 0) > 0 ? Math.round(Number(info.dataLength) / Number(info.rows)) : null,
    columns: columns.map((c) => {
      const generated = c.generation !== null && c.generation !== '';
      return {
        name: c.name,
        columnType: c.columnType,
        dataType: c.dataType,
        generated,
        nullable: c.nullable === 'YES',
        charMaxLength: num(c.charMax),
        octetLength: num(c.octets),
        numericPrecision: num(c.precision),
        numericScale: num(c.scale),
        datetimePrecision: num(c.fsp),
        characterSet: c.charset ?? null,
        collation: c.collation ?? null,
        generationExpression: generated ? c.generation : null,
        extra: String(c.extra ?? '').toLowerCase(),
        columnDefault: c.dflt ?? null,
      };
    }),
    indexes,
    ...(key ? { key } : {}),
    children: children.map((c) => ({ ...c })),
  };
}

/** The shortest usable index whose first column is `column` (the key itself counts). */
export function indexLeadingWith(shape: TableShape, column: string): IndexInfo | undefined {
  return shape.indexes
    .filter((i) => i.columns[0] === column && !i.hasPrefix)
    .sort((a, b) => Number(b.name === 'PRIMARY') - Number(a.name === 'PRIMARY') || a.columns.length - b.columns.length)[0];
}
