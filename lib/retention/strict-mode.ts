// The sql_mode of every purge and archive session: a value the archive cannot take exactly fails the statement, never changes.
import type { DbSession } from '../db/connection';

/**
 * Valid on MariaDB 10.6+ and MySQL 8 (where the three date and division modes are part of what strict mode means and
 * only warn when set without it). Set whole, not added to the session's mode: NO_BACKSLASH_ESCAPES would break the
 * client's escaping of bound values, PAD_CHAR_TO_FULL_LENGTH would change how CHAR values read back.
 */
export const STRICT_SQL_MODE = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

/** Switch `db` to the strict mode, keeping its previous mode for `restoreSqlMode` (one round trip each). */
export async function useStrictSqlMode(db: DbSession): Promise<void> {
  await db.exec(`SET @dbmaint_sql_mode = @@SESSION.sql_mode, SESSION sql_mode = '${STRICT_SQL_MODE}'`);
}

/** Back to the mode the session had before `useStrictSqlMode`. */
export async function restoreSqlMode(db: DbSession): Promise<void> {
  await db.exec('SET SESSION sql_mode = COALESCE(@dbmaint_sql_mode, @@SESSION.sql_mode)');
}

/** Server errors of a copy that strict mode refused: the value does not fit the archive column as it is. */
const CONVERSION_ERRORS = new Set([1048, 1264, 1265, 1292, 1366, 1406]);

/**
 * The failure text of an archive chunk whose copy strict mode refused (errno in CONVERSION_ERRORS), naming what to do;
 * undefined for other errors. The server's message names the column.
 */
export function copyRefusedMessage(errno: number | undefined, serverMessage: string, source: string): string | undefined {
  if (errno === undefined || !CONVERSION_ERRORS.has(errno)) return undefined;
  if (errno === 1292 && /(date|datetime|timestamp) value: '0000-|-00[ '-]|-00'/i.test(serverMessage)) {
    return (
      `${serverMessage}: rows of ${source} hold a zero date ('0000-00-00' or a zero month or day), which the strict sql_mode of the archive ` +
      `sessions refuses to copy; the chunk was rolled back and nothing of it moved. Set those values to NULL or a real date in the source, ` +
      `or exclude the rows with a where clause, then run again`
    );
  }
  return `${serverMessage}: the archive column cannot take this source value exactly (strict sql_mode); the chunk was rolled back and nothing of it moved`;
}
