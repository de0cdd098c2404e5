// InnoDB dictionary names ("schema/table#P#p0", filename-encoded) mapped back to schema and table names.

/** Partitions keep one dictionary and statistics entry each (`t#P#p0`, `t#p#p0` on MySQL 8); they belong to `t`. */
export function baseTableName(innodbTableName: string): string {
  const i = innodbTableName.search(/#[Pp]#/);
  return i === -1 ? innodbTableName : innodbTableName.slice(0, i);
}

/**
 * Decode the filename encoding InnoDB uses in its dictionary: characters outside [A-Za-z0-9_]
 * become `@` + 4 hex digits (`my-db` is `my@002ddb`). The two-character forms used for some
 * accented letters are not decoded: such names match no table, and the caller falls back to
 * the figures of information_schema.TABLES (and says so).
 */
export function decodeFilename(name: string): string {
  return name.replace(/@([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The LIKE pattern matching the dictionary names of one schema's tables. */
export function encodeFilename(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, (c) => `@${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function dictionaryPattern(schema: string): string {
  return `${encodeFilename(schema).replace(/[\\_%]/g, (c) => `\\${c}`)}/%`;
}

/** "schema/table#P#p0" → { schema, table } with partitions folded onto their table. */
export function parseDictionaryName(name: string): { schema: string; table: string } | undefined {
  const slash = name.indexOf('/');
  if (slash <= 0) return undefined;
  return { schema: decodeFilename(name.slice(0, slash)), table: decodeFilename(baseTableName(name.slice(slash + 1))) };
}
