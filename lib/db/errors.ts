// Reading a driver error (mysql2 or the fakes of the tests): one reading, so that every task names and classifies failures alike.

/** The server's error number, when the error came from the server. */
export function errno(err: unknown): number | undefined {
  const n = (err as { errno?: unknown }).errno;
  return typeof n === 'number' ? n : undefined;
}

/** The server's own text of an error, else the error's message. */
export function sqlMessage(err: unknown): string {
  const e = err as { sqlMessage?: string; message?: string };
  return e.sqlMessage ?? e.message ?? String(err);
}

/** A failure in the run log's shape: the server's number when there is one, and its text. */
export function sqlError(err: unknown): { errorNumber?: number; errorMessage: string } {
  const code = errno(err);
  return { ...(code !== undefined ? { errorNumber: code } : {}), errorMessage: sqlMessage(err) };
}

/** The connection is gone: the server has rolled back what was open, and nothing more can run on the session. */
export function isFatal(err: unknown): boolean {
  const e = err as { fatal?: boolean; code?: string; errno?: number };
  return e.fatal === true || e.code === 'PROTOCOL_CONNECTION_LOST' || e.errno === 1927 /* ER_CONNECTION_KILLED */ || /socket has been ended|closed state/i.test(String((err as Error).message));
}
