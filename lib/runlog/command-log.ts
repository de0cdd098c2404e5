// The run log, after Ola Hallengren's CommandLog: every maintenance command is a row (and a JSON log line).
import { randomUUID } from 'node:crypto';
import type { DbSession } from '../db/connection';
import { errno, sqlError } from '../db/errors';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import { currentUser } from '../db/privileges';
import type { Log } from '../runtime/log';
import { ensureWritable, errorReason, isStoreUnavailable, problemNote, type StoreProblem, type StoreSpec } from './store-access';

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

function insertSql(schema: string, table: string): string {
  return `INSERT INTO ${qualifiedName(schema, table)}
           (run_id, task, target, schema_name, table_name, command_type, command, started_at, ended_at, rows_affected, error_number, error_message, extra)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
}

function updateSql(schema: string, table: string): string {
  return `UPDATE ${qualifiedName(schema, table)}
            SET ended_at = ?, rows_affected = ?, error_number = ?, error_message = ?, extra = COALESCE(?, extra)
          WHERE id = ?`;
}

/** The run log as a store: its DDL, and the INSERT and UPDATE every logged command runs (probed, rolled back). */
export function commandLogStore(opts: RunLogOptions): StoreSpec {
  return {
    store: 'run log',
    schema: opts.schema,
    tables: [opts.table],
    ddl: commandLogDdl(opts.schema, opts.table),
    // UPDATE … WHERE id = ? reads `id`: SELECT too.
    writePrivileges: ['INSERT', 'UPDATE', 'SELECT'],
    consequence: 'commands are logged as JSON only',
    async probe(db) {
      const now = new Date();
      const res = await db.exec(insertSql(opts.schema, opts.table), [randomUUID(), 'probe', 'probe', null, null, 'PROBE', 'probe (rolled back)', now, null, null, null, null, null]);
      await db.exec(updateSql(opts.schema, opts.table), [now, null, null, null, null, res.insertId]);
    },
  };
}

/** Deadlock, lock wait timeout, query interrupted (KILL QUERY), statement time limit (MariaDB, MySQL). */
const RETHROWN_IN_TRANSACTION = new Set([1213, 1205, 1317, 1969, 3024]);

/**
 * Records commands for one run. When the log table cannot be written (no privilege,
 * read-only replica) the run goes on and says so once: the JSON log still has every command.
 */
export class RunLog {
  readonly runId = randomUUID();
  readonly records: CommandRecord[] = [];
  /** dbmaint's own tables this run could not use (run log, task runs, history, alert state), each once. */
  readonly problems: StoreProblem[] = [];
  private readonly noted: string[] = [];
  private tableReady: boolean;
  private user = '';

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

  /** The account whose grants apply (CURRENT_USER()), for the GRANT in a note. */
  get grantee(): string {
    return this.user;
  }

  /** One line per problem: what could not be used, why, what the run does instead, and the GRANT. */
  get notes(): readonly string[] {
    return this.noted;
  }

  /**
   * Before the task does anything: create the log table if missing and run the writes every command
   * will run, rolled back. Afterwards the table is known to work, or the run is JSON-only from the
   * start — never half-way, inside a purge chunk's transaction. `alsoWritable`: more stores this run
   * writes (the task-run record), probed the same way.
   */
  async prepare(alsoWritable: readonly StoreSpec[] = []): Promise<void> {
    if (!this.opts.enabled) return;
    this.user = await currentUser(this.session).catch(() => '');
    if (!this.tableReady) return;
    const problem = await ensureWritable(this.session, commandLogStore(this.opts));
    if (problem) {
      this.tableReady = false;
      this.note(problem);
    }
    for (const spec of alsoWritable) {
      const p = await ensureWritable(this.session, spec);
      if (p) this.note(p);
    }
  }

  /** Whether a store was found unusable for this use (e.g. the task-run record: then it is not attempted). */
  unusable(store: StoreProblem['store'], use: StoreProblem['use']): boolean {
    return this.problems.some((p) => p.store === store && p.use === use);
  }

  /** Record a problem once per thing it costs: in the run's notes (with the GRANT) and as one warning in the JSON log. */
  note(problem: StoreProblem): void {
    if (this.problems.some((p) => p.store === problem.store && p.use === problem.use && p.consequence === problem.consequence)) return;
    this.problems.push(problem);
    const text = problemNote(problem, this.user);
    this.noted.push(text);
    this.log.warn('dbmaint table unavailable', { store: problem.store, use: problem.use, schema: problem.schema, tables: problem.tables, reason: problem.reason, note: text });
  }

  /**
   * Completed, successful commands of a type from earlier runs of this target (newest first), for
   * estimates such as a rebuild's rate. Empty when the log is disabled or unreadable.
   */
  async history(
    type: string,
    limit: number,
    consequence = 'earlier runs of this target are not known',
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
      // Not created yet (a dry run before the first run): nothing to read, nothing wrong.
      if (errno(err) === 1146) return [];
      if (!isStoreUnavailable(err)) {
        this.log.warn('run log history unreadable', { runLogTable: this.tableName, ...sqlError(err) });
        return [];
      }
      this.note({ store: 'run log', use: 'read', schema: this.opts.schema, tables: [this.opts.table], reason: errorReason(err), privileges: ['SELECT'], consequence });
      return [];
    }
  }

  /**
   * Run `fn` as one logged command: a row is inserted before it starts and completed after it ends.
   * `extraAfter`: facts known only once it succeeded (a rebuilt table's new identity), added to the row's `extra`;
   * read after the end time is taken, so they do not count in its duration.
   */
  async command<T>(
    spec: CommandSpec,
    fn: () => Promise<T>,
    rowsOf?: (result: T) => number | undefined,
    extraAfter?: () => Promise<Record<string, unknown> | undefined>,
  ): Promise<T> {
    const startedAt = new Date();
    const rowId = await this.insertStart(spec, startedAt);
    this.log.info('command started', { runId: this.runId, type: spec.type, schema: spec.schema, table: spec.table, sql: spec.sql });
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await this.finish(spec, startedAt, new Date(), rowId, sqlError(err));
      throw err;
    }
    const endedAt = new Date();
    const rows = rowsOf?.(result);
    // The command succeeded: a failed read of these facts must not lose its record.
    const more = extraAfter ? await extraAfter().catch(() => undefined) : undefined;
    await this.finish(more ? { ...spec, extra: { ...spec.extra, ...more } } : spec, startedAt, endedAt, rowId, { ...(rows !== undefined ? { rowsAffected: rows } : {}) }, more !== undefined);
    return result;
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
      const res = await on.exec(insertSql(this.opts.schema, this.opts.table), [
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
      ]);
      return res.insertId;
    } catch (err) {
      const n = errno(err);
      if (inTransaction && ((n !== undefined && RETHROWN_IN_TRANSACTION.has(n)) || (err as { fatal?: boolean }).fatal)) throw err;
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

  private async finish(spec: CommandSpec, startedAt: Date, endedAt: Date, rowId: number | undefined, outcome: CommandOutcome, extraChanged = false): Promise<void> {
    this.remember(spec, startedAt, endedAt, outcome);
    if (rowId === undefined) return;
    try {
      const extra = extraChanged && spec.extra ? JSON.stringify(spec.extra) : null;
      await this.session.exec(updateSql(this.opts.schema, this.opts.table), [endedAt, outcome.rowsAffected ?? null, outcome.errorNumber ?? null, outcome.errorMessage ?? null, extra, rowId]);
    } catch (err) {
      // The session itself may be what failed (killed connection); the JSON line above is the record then.
      this.log.warn('run log update failed', { runLogTable: this.tableName, ...sqlError(err) });
    }
  }
}
