// Recognising the privilege errors that degrade a task (less visibility) rather than fail it.

/** ER_SPECIFIC_ACCESS_DENIED_ERROR: InnoDB's information_schema views, INNODB_TRX and others need PROCESS. */
export function isMissingProcessPrivilege(err: unknown): boolean {
  const e = err as { errno?: number; sqlMessage?: string };
  return e.errno === 1227 && /PROCESS/i.test(e.sqlMessage ?? '');
}

/**
 * Access denied on a table, a database, or for want of a global privilege (PROCESS, …), column
 * access denied: the maintenance user may legitimately lack these, so a check is skipped, not the run.
 */
const PRIVILEGE_ERRNOS = new Set([1044, 1142, 1143, 1227]);

export function isPrivilegeError(err: unknown): boolean {
  return PRIVILEGE_ERRNOS.has(Number((err as { errno?: unknown }).errno));
}

/** CURRENT_USER() as `user@host` (the account whose grants apply, not the connecting host). */
export async function currentUser(db: { query<T>(sql: string): Promise<T[]> }): Promise<string> {
  const [me] = await db.query<{ u: string }>('SELECT CURRENT_USER() AS u');
  return String(me?.u ?? '');
}

/** `'user'@'host'` from CURRENT_USER()'s `user@host`, quotes doubled. */
function granteeOf(user: string): string {
  const at = user.lastIndexOf('@');
  const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
  return at < 0 ? q(user) : `${q(user.slice(0, at))}@${q(user.slice(at + 1))}`;
}

/** The GRANT statement that gives `user` these privileges on `on` (`\`schema\`.*` or a qualified table, already quoted). */
export function grantStatement(privileges: readonly string[], on: string, user: string): string {
  return `GRANT ${privileges.join(', ')} ON ${on} TO ${granteeOf(user)};`;
}
