// Recognising the privilege errors that degrade a task (less visibility) rather than fail it.

/** ER_SPECIFIC_ACCESS_DENIED_ERROR: InnoDB's information_schema views, INNODB_TRX and others need PROCESS. */
export function isMissingProcessPrivilege(err: unknown): boolean {
  const e = err as { errno?: number; sqlMessage?: string };
  return e.errno === 1227 && /PROCESS/i.test(e.sqlMessage ?? '');
}
