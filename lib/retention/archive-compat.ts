// Can an archive table hold every source value exactly? Column by column, each gap with the ALTER TABLE that closes it.
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { ColumnInfo, TableShape } from './inspect';

export const ARCHIVED_AT = 'archived_at';

/** One reason why the archive cannot take the source's rows exactly, and the statement that fixes the archive table. */
export interface ArchiveProblem {
  /** `column amount`, `the table's engine`… */
  readonly what: string;
  readonly reason: string;
  readonly fix: string;
}

/** Which source columns an archive chunk copies and which it verifies. */
export interface ArchiveColumns {
  /** Copied by INSERT … SELECT: ordinary columns, and generated ones whose archive column is an ordinary one. */
  readonly copied: readonly string[];
  /** Compared by the chunk's checksum: every source column the archive has (a generated one recomputed there included). */
  readonly compared: readonly ColumnInfo[];
}

const INT_BITS: Readonly<Record<string, number>> = { tinyint: 8, smallint: 16, mediumint: 24, int: 32, integer: 32, bigint: 64 };
const CHAR_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
const TEMPORAL_TYPES = new Set(['datetime', 'timestamp', 'time']);

const typeOf = (c: ColumnInfo) => c.dataType.toLowerCase();
const isUnsigned = (c: ColumnInfo) => /\bunsigned\b/i.test(c.columnType);
const isZerofill = (c: ColumnInfo) => /\bzerofill\b/i.test(c.columnType);

/** COLUMN_TYPE without an integer's display width (MariaDB prints `int(11)`, MySQL 8 `int`), which changes no value. */
function normalType(c: ColumnInfo): string {
  const t = c.columnType.toLowerCase().trim();
  return typeOf(c) in INT_BITS && !isZerofill(c) ? t.replace(/^(\w+)\(\d+\)/, '$1') : t;
}

/** The source column's definition as an archive column: its type, character set and collation, nullability. */
function archiveColumnDefinition(c: ColumnInfo, nullable: boolean): string {
  const charset = c.characterSet && c.collation ? ` CHARACTER SET ${c.characterSet} COLLATE ${c.collation}` : '';
  if (c.generated) return `${c.columnType}${charset} AS (${c.generationExpression ?? ''}) ${/stored/.test(c.extra) ? 'STORED' : 'VIRTUAL'}`;
  return `${c.columnType}${charset} ${nullable ? 'NULL' : 'NOT NULL'}`;
}

function charsetReason(s: ColumnInfo, a: ColumnInfo): string | undefined {
  if (s.characterSet !== a.characterSet) {
    return `character set ${a.characterSet ?? 'binary'} in the archive, ${s.characterSet ?? 'binary'} in the source: characters would be converted, those the archive's character set lacks lost`;
  }
  if (s.collation !== a.collation) {
    return `collation ${a.collation} in the archive, ${s.collation} in the source: values that differ only in case, accents or trailing spaces would compare equal in one and not the other`;
  }
  return undefined;
}

function capacity(c: ColumnInfo): string {
  return CHAR_TYPES.has(typeOf(c)) ? `${c.charMaxLength} characters (${c.octetLength} bytes)` : `${c.octetLength} bytes`;
}

/** Why `a` (archive) cannot hold every value of `s` (source) so that it reads back identically, also as text; undefined when it can. */
function valueProblem(s: ColumnInfo, a: ColumnInfo): string | undefined {
  const st = typeOf(s);
  const at = typeOf(a);
  if (st === at && normalType(s) === normalType(a) && s.characterSet === a.characterSet && s.collation === a.collation) return undefined;
  const types = `${a.columnType} in the archive, ${s.columnType} in the source`;
  if (st in INT_BITS && at in INT_BITS) {
    if (isZerofill(s) || isZerofill(a)) return `${types}: ZEROFILL pads values to the display width, only the identical type reads back the same`;
    if (!isUnsigned(s) && isUnsigned(a)) return `${types}: negative values cannot be stored UNSIGNED`;
    const sb = INT_BITS[st]!;
    const ab = INT_BITS[at]!;
    const holds = isUnsigned(s) === isUnsigned(a) ? ab >= sb : ab > sb;
    return holds ? undefined : `${types}: values beyond the archive type's range cannot be stored`;
  }
  if (st === 'decimal' && at === 'decimal') {
    const [sp, ss, ap, as] = [s.numericPrecision ?? 0, s.numericScale ?? 0, a.numericPrecision ?? 0, a.numericScale ?? 0];
    if (!isUnsigned(s) && isUnsigned(a)) return `${types}: negative values cannot be stored UNSIGNED`;
    if (as < ss) return `${types}: values would be rounded to ${as} decimal place(s)`;
    if (as > ss) return `${types}: values would read back with ${as} decimal places instead of ${ss} (30.12 → 30.1200), not identical`;
    if (ap - as < sp - ss) return `${types}: values with more than ${ap - as} integer digit(s) cannot be stored`;
    return undefined;
  }
  if (CHAR_TYPES.has(st) && CHAR_TYPES.has(at)) {
    const cs = charsetReason(s, a);
    if (cs) return `${types}: ${cs}`;
    // CHAR strips trailing spaces when read; a VARCHAR or TEXT keeps them.
    if (at === 'char' && st !== 'char') return `${types}: CHAR drops the trailing spaces that ${st.toUpperCase()} keeps`;
    if ((a.charMaxLength ?? 0) < (s.charMaxLength ?? 0) || (a.octetLength ?? 0) < (s.octetLength ?? 0)) {
      return `${types}: the archive holds ${capacity(a)}, the source ${capacity(s)}: longer values would be cut`;
    }
    return undefined;
  }
  if (BINARY_TYPES.has(st) && BINARY_TYPES.has(at)) {
    if (at === 'binary') return `${types}: BINARY pads shorter values with zero bytes, only the identical type reads back the same`;
    if ((a.octetLength ?? 0) < (s.octetLength ?? 0)) return `${types}: the archive holds ${capacity(a)}, the source ${capacity(s)}: longer values would be cut`;
    return undefined;
  }
  if ((st === 'enum' && at === 'enum') || (st === 'set' && at === 'set')) {
    const cs = charsetReason(s, a);
    if (cs) return `${types}: ${cs}`;
    return `${types}: ${st.toUpperCase()} members differ (the same members in the same order are needed)`;
  }
  if (st === at && TEMPORAL_TYPES.has(st) && s.datetimePrecision !== a.datetimePrecision) {
    const [sf, af] = [s.datetimePrecision ?? 0, a.datetimePrecision ?? 0];
    return af < sf
      ? `${types}: fractional seconds would be cut from ${sf} to ${af} digit(s)`
      : `${types}: values would read back with ${af} fractional digit(s) instead of ${sf}, not identical`;
  }
  const cs = st === at ? charsetReason(s, a) : undefined;
  return `${types}: ${cs ?? 'only the same type holds every value exactly'}`;
}

/** Everything that keeps `archive` from taking `source`'s rows exactly (empty: it can). Columns the archive lacks are not checked here. */
export function archiveProblems(source: TableShape, archive: TableShape, engineTransactional: boolean): ArchiveProblem[] {
  const target = qualifiedName(archive.schema, archive.table);
  const problems: ArchiveProblem[] = [];
  const byName = new Map(archive.columns.map((c) => [c.name, c]));
  const modify = (c: ColumnInfo, nullable: boolean) => `ALTER TABLE ${target} MODIFY ${quoteIdentifier(c.name)} ${archiveColumnDefinition(c, nullable)}`;
  for (const s of source.columns) {
    const a = byName.get(s.name);
    if (!a) continue;
    const fix = modify(s, s.nullable || a.nullable);
    const what = `column ${s.name}`;
    if (a.generated && !s.generated) {
      problems.push({ what, reason: 'generated in the archive, an ordinary column in the source: the archive would store its own value instead of the source\'s', fix });
      continue;
    }
    if (a.generated && s.generated && a.generationExpression !== s.generationExpression) {
      problems.push({ what, reason: `generated as (${a.generationExpression}) in the archive, as (${s.generationExpression}) in the source: the archive would compute other values`, fix });
      continue;
    }
    const reason = valueProblem(s, a);
    if (reason) problems.push({ what, reason, fix });
    else if (s.nullable && !a.nullable && !a.generated) problems.push({ what, reason: 'NOT NULL in the archive, nullable in the source: NULLs cannot be stored', fix });
  }
  const archivedAt = byName.get(ARCHIVED_AT);
  if (archivedAt && (archivedAt.generated || !/^(datetime|timestamp)$/.test(typeOf(archivedAt)) || (archivedAt.datetimePrecision ?? 0) < 3)) {
    problems.push({
      what: `column ${ARCHIVED_AT}`,
      reason: `${archivedAt.columnType}${archivedAt.generated ? ' (generated)' : ''}: a chunk finds the rows it copied by their ${ARCHIVED_AT}, which needs a DATETIME with at least millisecond precision`,
      fix: `ALTER TABLE ${target} MODIFY ${quoteIdentifier(ARCHIVED_AT)} DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)`,
    });
  }
  const sourceNames = new Set(source.columns.map((c) => c.name));
  for (const a of archive.columns) {
    if (sourceNames.has(a.name) || a.name === ARCHIVED_AT || a.generated || a.nullable || a.columnDefault !== null || /auto_increment/.test(a.extra)) continue;
    problems.push({
      what: `column ${a.name}`,
      reason: 'NOT NULL without a default in the archive and not in the source: every copy would fail',
      fix: `ALTER TABLE ${target} MODIFY ${quoteIdentifier(a.name)} ${archiveColumnDefinition(a, true)}`,
    });
  }
  if (!engineTransactional) {
    problems.push({
      what: "the table's engine",
      reason: `${archive.engine ?? 'unknown'} is not transactional: a chunk rolled back after its copy would leave the copied rows in the archive and in the source`,
      fix: `ALTER TABLE ${target} ENGINE=InnoDB`,
    });
  }
  return problems;
}

/** The refusal text: every problem with its fix. */
export function describeProblems(source: TableShape, archive: TableShape, problems: readonly ArchiveProblem[]): string {
  return (
    `archive table ${archive.schema}.${archive.table} cannot hold every value of ${source.schema}.${source.table} exactly — ` +
    problems.map((p) => `${p.what}: ${p.reason} (fix: ${p.fix})`).join('; ')
  );
}

/** What a chunk copies into `archive` and what it compares afterwards. */
export function archiveColumns(source: TableShape, archive: TableShape): ArchiveColumns {
  const byName = new Map(archive.columns.map((c) => [c.name, c]));
  const present = source.columns.filter((c) => byName.has(c.name));
  return {
    copied: present.filter((c) => !byName.get(c.name)!.generated).map((c) => c.name),
    compared: present,
  };
}
