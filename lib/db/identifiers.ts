// Identifier validation and quoting: the one place where names become SQL text.

/** Names accepted from configuration and event payloads: plain ASCII word characters only. */
export const SAFE_IDENTIFIER = /^[A-Za-z0-9_$]{1,64}$/;

export class IdentifierError extends Error {
  override readonly name = 'IdentifierError';
}

/** True for a name an operator may type in config or a payload (no quoting tricks possible). */
function isSafeIdentifier(name: string): boolean {
  return SAFE_IDENTIFIER.test(name);
}

/**
 * Quote any identifier for MySQL/MariaDB, including hostile names read from the
 * server's own catalogue (a table may legally be named "x`; DROP TABLE y; --").
 * Doubling backticks is the server's own escaping rule; names the server itself
 * could never hold are refused rather than quoted.
 */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new IdentifierError('identifier must be a non-empty string');
  }
  if ([...name].length > 64) {
    throw new IdentifierError(`identifier longer than 64 characters: ${JSON.stringify(name.slice(0, 80))}`);
  }
  if (name.includes('\u0000')) {
    throw new IdentifierError('identifier contains a NUL character');
  }
  if (name.endsWith(' ')) {
    throw new IdentifierError(`identifier ends with a space: ${JSON.stringify(name)}`);
  }
  return '`' + name.replaceAll('`', '``') + '`';
}

/** `schema`.`table`, each part quoted. */
export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}

/** A table reference as an operator writes it: `table` or `schema.table`. */
export interface TableRef {
  readonly schema?: string;
  readonly table: string;
}

/** Whether `schema.table` is one of `refs`; a reference without a schema names the table in any schema. */
export function isNamedIn(refs: readonly TableRef[], schema: string, table: string): boolean {
  return refs.some((r) => r.table === table && (r.schema === undefined || r.schema === schema));
}

/** Parse `table` or `schema.table` from config/payload text; both parts must be safe identifiers. */
export function parseTableRef(text: string): TableRef {
  const parts = text.split('.');
  if (parts.length > 2 || !parts.every(isSafeIdentifier)) {
    throw new IdentifierError(
      `invalid table name ${JSON.stringify(text.slice(0, 80))}: use table or schema.table, letters, digits, _ and $ only`,
    );
  }
  return parts.length === 2 ? { schema: parts[0]!, table: parts[1]! } : { table: parts[0]! };
}
