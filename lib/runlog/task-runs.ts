// One row per task run (its digest): what the reports and the "purge falling behind" check read back.
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { TaskRunDigest } from '../reporting/report-data';
import type { Log } from '../runtime/log';

export const TASK_RUN_TABLE = 'task_run';

export function taskRunDdl(schema: string): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, TASK_RUN_TABLE)} (
  run_id CHAR(36) NOT NULL PRIMARY KEY,
  task VARCHAR(64) NOT NULL,
  target VARCHAR(64) NOT NULL,
  status VARCHAR(32) NOT NULL,
  started_at DATETIME(6) NOT NULL,
  duration_seconds DOUBLE NOT NULL,
  error_message TEXT NULL,
  digest LONGTEXT NOT NULL,
  KEY ix_target_started (target, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ];
}

export class TaskRuns {
  constructor(
    private readonly db: DbSession,
    private readonly schema: string,
    private readonly log: Log,
  ) {}

  /** Never fails the run it records: a read-only or ungranted server loses the record, with a warning. */
  async record(digest: TaskRunDigest): Promise<void> {
    if (!digest.runId) return;
    try {
      for (const ddl of taskRunDdl(this.schema)) await this.db.exec(ddl);
      await this.db.exec(
        `INSERT INTO ${qualifiedName(this.schema, TASK_RUN_TABLE)} (run_id, task, target, status, started_at, duration_seconds, error_message, digest)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [digest.runId, digest.task, digest.target, digest.status, new Date(digest.startedAt), digest.durationSeconds, digest.error ?? null, JSON.stringify(digest)],
      );
    } catch (err) {
      this.log.warn('task run not recorded', { table: `${this.schema}.${TASK_RUN_TABLE}`, error: (err as Error).message });
    }
  }

  /** Digests of the target's runs since `since`, oldest first; empty when none were ever recorded. */
  async since(target: string, since: Date, tasks?: readonly string[]): Promise<TaskRunDigest[]> {
    try {
      const rows = await this.db.query<{ digest: string }>(
        `SELECT digest FROM ${qualifiedName(this.schema, TASK_RUN_TABLE)}
          WHERE target = ? AND started_at >= ?${tasks ? ' AND task IN (?)' : ''} ORDER BY started_at, run_id`,
        tasks ? [target, since, tasks] : [target, since],
      );
      return rows.map((r) => JSON.parse(r.digest) as TaskRunDigest);
    } catch (err) {
      if ((err as { errno?: number }).errno === 1146) return []; // no table yet
      throw err;
    }
  }
}
