// One row per task run (its digest): what the reports and the "purge falling behind" check read back.
import { randomUUID } from 'node:crypto';
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { TaskRunDigest } from '../reporting/report-data';
import type { Log } from '../runtime/log';
import { errorReason, isStoreUnavailable, type StoreProblem, type StoreSpec } from './store-access';

const TASK_RUN_TABLE = 'task_run';

function taskRunDdl(schema: string): string[] {
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

function insertSql(schema: string): string {
  return `INSERT INTO ${qualifiedName(schema, TASK_RUN_TABLE)} (run_id, task, target, status, started_at, duration_seconds, error_message, digest)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
}

/** The task-run table as a store: created if missing, and the INSERT of a run's record probed (rolled back). */
export function taskRunStore(schema: string): StoreSpec {
  return {
    store: 'task runs',
    schema,
    tables: [TASK_RUN_TABLE],
    ddl: taskRunDdl(schema),
    writePrivileges: ['INSERT'],
    consequence: 'this run is not recorded, so reports and the falling-behind check do not see it',
    async probe(db) {
      await db.exec(insertSql(schema), [randomUUID(), 'probe', 'probe', 'probe', new Date(), 0, null, '{}']);
    },
  };
}

export class TaskRuns {
  /** `problems`: where an unreadable table is reported (the run's notes); without it, only the log has it. */
  constructor(
    private readonly db: DbSession,
    private readonly schema: string,
    private readonly log: Log,
    private readonly problems?: (p: StoreProblem) => void,
  ) {}

  /**
   * Never fails the run it records: a read-only or ungranted server loses the record, with a warning.
   * The table was created (and the INSERT probed) before the run started: see taskRunStore.
   */
  async record(digest: TaskRunDigest): Promise<void> {
    if (!digest.runId) return;
    try {
      await this.db.exec(insertSql(this.schema), [
        digest.runId,
        digest.task,
        digest.target,
        digest.status,
        new Date(digest.startedAt),
        digest.durationSeconds,
        digest.error ?? null,
        JSON.stringify(digest),
      ]);
    } catch (err) {
      this.log.warn('task run not recorded', { table: `${this.schema}.${TASK_RUN_TABLE}`, error: (err as Error).message });
    }
  }

  /**
   * Digests of the target's runs since `since`, oldest first; empty when none were ever recorded, or
   * when the table cannot be read (then `consequence`, what the caller does without them, goes to `problems`).
   */
  async since(target: string, since: Date, tasks?: readonly string[], consequence = 'earlier runs of this target are not known'): Promise<TaskRunDigest[]> {
    try {
      const rows = await this.db.query<{ digest: string }>(
        `SELECT digest FROM ${qualifiedName(this.schema, TASK_RUN_TABLE)}
          WHERE target = ? AND started_at >= ?${tasks ? ' AND task IN (?)' : ''} ORDER BY started_at, run_id`,
        tasks ? [target, since, tasks] : [target, since],
      );
      return rows.map((r) => JSON.parse(r.digest) as TaskRunDigest);
    } catch (err) {
      if ((err as { errno?: number }).errno === 1146) return []; // no table yet
      if (!isStoreUnavailable(err)) throw err;
      const problem: StoreProblem = { store: 'task runs', use: 'read', schema: this.schema, tables: [TASK_RUN_TABLE], reason: errorReason(err), privileges: ['SELECT'], consequence };
      if (this.problems) this.problems(problem);
      else this.log.warn('task runs not readable', { table: `${this.schema}.${TASK_RUN_TABLE}`, reason: problem.reason, consequence });
      return [];
    }
  }
}
