// The run log, after Ola Hallengren's CommandLog: every maintenance command is a row (and a JSON log line).
import { randomUUID } from 'node:crypto';
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { Log } from '../runtime/log';

export interface CommandSpec {
  readonly type: string;
  readonly sql: string;
  readonly schema?: string;
  readonly table?: string;
  readonly extra?: Record<string, unknown>;
}

export interface CommandRecord extends CommandSpec {
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly durationMs: number;
  readonly rowsAffected?: number;
  readonly errorNumber?: number;
  readonly errorMessage?: string;
}

export interface CommandOutcome {
  readonly rowsAffected?: number;
  readonly errorNumber?: number;
  readonly errorMessage?: string;
}

export interface RunLogOptions {
  readonly enabled: boolean;
  readonly schema: string;
  readonly table: string;
}

export function commandLogDdl(schema: string, table: string): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, table)} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  run_id CHAR(36) NOT NULL,
  task VARCHAR(64) NOT NULL,
  target VARCHAR(64) NOT NULL,
  schema_name VARCHAR(64) NULL,
  table_name VARCHAR(64) NULL,
  command_type VARCHAR(32) NOT NULL,
  command MEDIUMTEXT NOT NULL,
  started_at DATETIME(6) NOT NULL,
  ended_at DATETIME(6) NULL,
  rows_affected BIGINT NULL,
  error_number INT NULL,
  error_message TEXT NULL,
  extra LONGTEXT NULL,
  KEY ix_run (run_id),
  KEY ix_task_started (task, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ];
}

/** Deadlock, lock wait timeout, query interrupted (KILL QUERY), statement time limit (MariaDB, MySQL). */
const RETHROWN_IN_TRANSACTION = new Set([1213, 1205, 1317, 1969, 3024]);

function sqlError(err: unknown): { errorNumber?: number; errorMessage: string } {
  const e = err as { errno?: number; sqlMessage?: string; message?: string };
  return { ...(typeof e.errno === 'number' ? { errorNumber: e.errno } : {}), errorMessage: e.sqlMessage ?? e.message ?? String(err) };
}

/**
 * Records commands for one run. When the log table cannot be written (no privilege,
 * read-only replica) the run goes on and says so once: the JSON log still has every command.
 */
export class RunLog {
  readonly runId = randomUUID();
  readonly records: CommandRecord[] = [];
  private tableReady: boolean;

  constructor(
    private readonly session: DbSession,
    private readonly opts: RunLogOptions,
    readonly context: { readonly task: string; readonly target: string; readonly dryRun: boolean },
    private readonly log: Log,
  ) {
    // A dry run changes nothing on the server, the log table included.
    this.tableReady = opts.enabled && !context.dryRun;
  }

  /** Whether records go to the log table (one row per recorded command). */
  get writesTable(): boolean {
    return this.tableReady;
  }

  get tableName(): string {
    return `${this.opts.schema}.${this.opts.table}`;
  }

  async prepare(): Promise<void> {
    if (!this.tableReady) return;
    try {
      for (const ddl of commandLogDdl(this.opts.schema, this.opts.table)) await this.session.exec(ddl);
    } catch (err) {
      this.tableReady = false;
      this.log.warn('run log table unavailable; commands are logged as JSON only', {
        runLogTable: this.tableName,
        ...sqlError(err),
      });
    }
  }

  /**
   * Completed, successful commands of a type from earlier runs of this target (newest first), for
   * estimates such as a rebuild's rate. Empty when the log is disabled or unreadable.
   */
  async history(
    type: string,
    limit: number,
  ): Promise<{ durationMs: number; extra: Record<string, unknown> | null; schema: string | null; table: string | null; startedAt: Date }[]> {
    if (!this.opts.enabled) return [];
    try {
      const rows = await this.session.query<{ us: number; extra: string | null; schemaName: string | null; tableName: string | null; startedAt: Date }>(
        `SELECT TIMESTAMPDIFF(MICROSECOND, started_at, ended_at) AS us, extra, schema_name AS schemaName, table_name AS tableName, started_at AS startedAt
           FROM ${qualifiedName(this.opts.schema, this.opts.table)}
          WHERE target = ? AND command_type = ? AND ended_at IS NOT NULL AND error_number IS NULL AND error_message IS NULL
          ORDER BY id DESC LIMIT ?`,
        [this.context.target, type, limit],
      );
      return rows.map((r) => ({
        durationMs: Number(r.us) / 1000,
        extra: r.extra ? (JSON.parse(r.extra) as Record<string, unknown>) : null,
        schema: r.schemaName,
        table: r.tableName,
        startedAt: r.startedAt,
      }));
    } catch (err) {
      this.log.warn('run log history unreadable', { runLogTable: this.tableName, ...sqlError(err) });
      return [];
    }
  }

  /** Run `fn` as one logged command: a row is inserted before it starts and completed after it ends. */
  async command<T>(spec: CommandSpec, fn: () => Promise<T>, rowsOf?: (result: T) => number | undefined): Promise<T> {
    const startedAt = new Date();
    const rowId = await this.insertStart(spec, startedAt);
    this.log.info('command started', { runId: this.runId, type: spec.type, schema: spec.schema, table: spec.table, sql: spec.sql });
    try {
      const result = await fn();
      const rows = rowsOf?.(result);
      await this.finish(spec, startedAt, rowId, { ...(rows !== undefined ? { rowsAffected: rows } : {}) });
      return result;
    } catch (err) {
      await this.finish(spec, startedAt, rowId, sqlError(err));
      throw err;
    }
  }

  /**
   * Record a command that already ran, in one row. Used for work inside a transaction
   * (an archive chunk), where the row is written only after COMMIT or ROLLBACK.
   */
  async recordCompleted(spec: CommandSpec, startedAt: Date, outcome: CommandOutcome, on: DbSession = this.session): Promise<void> {
    const endedAt = new Date();
    this.remember(spec, startedAt, endedAt, outcome);
    await this.writeCompleted(spec, startedAt, endedAt, outcome, on);
  }

  /**
   * Only the log-table row, in one INSERT. Called inside a chunk's transaction it commits
   * (or rolls back) with the chunk: a committed chunk always has its row, at no extra commit. `on`: the session
   * whose transaction the row joins (a chunk run on a second session).
   */
  async writeCompleted(spec: CommandSpec, startedAt: Date, endedAt: Date, outcome: CommandOutcome, on: DbSession = this.session): Promise<void> {
    await this.insertRow(spec, startedAt, endedAt, outcome, true, on);
  }

  /** A row before the command runs (no end yet): a run killed mid-command leaves it open. */
  private insertStart(spec: CommandSpec, startedAt: Date): Promise<number | undefined> {
    return this.insertRow(spec, startedAt, null, {});
  }

  /**
   * `inTransaction`: a deadlock or lock wait timeout on the log row is rethrown, because the
   * server may have rolled back the caller's whole transaction; so is an interrupted INSERT
   * (KILL QUERY, a statement time limit), or the caller would commit its work without the row.
   * Other failures only lose the row.
   */
  private async insertRow(
    spec: CommandSpec,
    startedAt: Date,
    endedAt: Date | null,
    outcome: CommandOutcome,
    inTransaction = false,
    on: DbSession = this.session,
  ): Promise<number | undefined> {
    if (!this.tableReady) return undefined;
    try {
      const res = await on.exec(
        `INSERT INTO ${qualifiedName(this.opts.schema, this.opts.table)}
           (run_id, task, target, schema_name, table_name, command_type, command, started_at, ended_at, rows_affected, error_number, error_message, extra)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          this.runId,
          this.context.task,
          this.context.target,
          spec.schema ?? null,
          spec.table ?? null,
          spec.type,
          spec.sql,
          startedAt,
          endedAt,
          outcome.rowsAffected ?? null,
          outcome.errorNumber ?? null,
          outcome.errorMessage ?? null,
          spec.extra ? JSON.stringify(spec.extra) : null,
        ],
      );
      return res.insertId;
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      if (inTransaction && ((errno !== undefined && RETHROWN_IN_TRANSACTION.has(errno)) || (err as { fatal?: boolean }).fatal)) throw err;
      this.log.warn('run log insert failed', { runLogTable: this.tableName, ...sqlError(err) });
      return undefined;
    }
  }

  /** Keep the record in memory and write its JSON log line. */
  remember(spec: CommandSpec, startedAt: Date, endedAt: Date, outcome: CommandOutcome): void {
    const record: CommandRecord = { ...spec, startedAt, endedAt, durationMs: endedAt.getTime() - startedAt.getTime(), ...outcome };
    this.records.push(record);
    const fields = { runId: this.runId, type: spec.type, schema: spec.schema, table: spec.table, durationMs: record.durationMs, ...outcome, ...(spec.extra ? { extra: spec.extra } : {}) };
    if (outcome.errorMessage !== undefined) this.log.error('command failed', fields);
    else this.log.info('command finished', fields);
  }

  private async finish(
    spec: CommandSpec,
    startedAt: Date,
    rowId: number | undefined,
    outcome: { rowsAffected?: number; errorNumber?: number; errorMessage?: string },
  ): Promise<void> {
    const endedAt = new Date();
    this.remember(spec, startedAt, endedAt, outcome);
    if (rowId === undefined) return;
    try {
      await this.session.exec(
        `UPDATE ${qualifiedName(this.opts.schema, this.opts.table)}
            SET ended_at = ?, rows_affected = ?, error_number = ?, error_message = ?
          WHERE id = ?`,
        [endedAt, outcome.rowsAffected ?? null, outcome.errorNumber ?? null, outcome.errorMessage ?? null, rowId],
      );
    } catch (err) {
      // The session itself may be what failed (killed connection); the JSON line above is the record then.
      this.log.warn('run log update failed', { runLogTable: this.tableName, ...sqlError(err) });
    }
  }
}
