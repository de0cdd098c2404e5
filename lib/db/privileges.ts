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
