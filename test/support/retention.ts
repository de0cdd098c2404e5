// Helpers for retention tests: run one rule on its own session with test settings.
import { parseConfig } from '../../lib/config/load';
import { openSession, type DbSession } from '../../lib/db/connection';
import { credentialsFromUrl } from '../../lib/db/credentials';
import { runRule, type EngineOptions, type RetentionRule, type RuleResult } from '../../lib/retention/engine';
import { Throttle } from '../../lib/retention/throttle';
import { RunLog } from '../../lib/runlog/command-log';
import { Deadline } from '../../lib/runtime/deadline';
import { silentLog } from '../../lib/runtime/log';
import { serverUrl } from './db';

export const SETTINGS = parseConfig({ targets: [{ name: 't', secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:t-AbCdEf', schemas: ['x'] }] }).purge;

export async function session(): Promise<DbSession> {
  return openSession(credentialsFromUrl(serverUrl()), { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 }, 'disabled');
}

export function rule(schema: string, table: string, over: Partial<RetentionRule> = {}): RetentionRule {
  return {
    schema,
    table,
    dateColumn: 'created_at',
    retentionDays: 30,
    action: 'delete',
    where: [],
    archiveSchema: schema,
    archiveTable: `${table}_archive`,
    allowFullScan: false,
    walk: 'auto',
    ...over,
  };
}

/**
 * Run one rule as the cleanup-data task does: with a second session for boundary reads and a third that runs every
 * other chunk while the server is idle (the defaults), unless `reader: null` / `second: null` ask for the walk without.
 */
export async function run(
  r: RetentionRule,
  opts: Partial<Omit<EngineOptions, 'runLog' | 'throttle' | 'settings' | 'reader' | 'second'>> & {
    db?: DbSession;
    reader?: DbSession | null;
    second?: DbSession | null;
    runLogSchema?: string;
    settings?: Partial<EngineOptions['settings']>;
  } = {},
): Promise<RuleResult> {
  const db = opts.db ?? (await session());
  const reader = opts.reader === undefined ? await session() : (opts.reader ?? undefined);
  const second = opts.second === undefined ? await session() : (opts.second ?? undefined);
  try {
    const dryRun = opts.dryRun ?? false;
    const runLog = new RunLog(db, { enabled: true, schema: opts.runLogSchema ?? `${r.schema}_log`, table: 'command_log' }, { task: 'test', target: 't', dryRun }, silentLog);
    await runLog.prepare();
    return await runRule(db, r, {
      dryRun,
      now: opts.now ?? new Date(),
      settings: { ...SETTINGS, ...opts.settings },
      deadline: opts.deadline ?? Deadline.unlimited(),
      throttle: new Throttle([], silentLog),
      log: opts.log ?? silentLog,
      runLog,
      ...(reader ? { reader } : {}),
      ...(second ? { second } : {}),
      ...(opts.faults ? { faults: opts.faults } : {}),
      ...(opts.lockWatch ? { lockWatch: opts.lockWatch } : {}),
    });
  } finally {
    if (!opts.db) await db.close();
    if (opts.reader === undefined) await reader?.close();
    if (opts.second === undefined) await second?.close();
  }
}

/**
 * A deadline with plenty of time for `checks` checks, then 1.5 s left: too little for another
 * chunk (which reserves at least 2 s), enough to count what remains. Stops a run after a known
 * number of chunks, independent of how fast the machine is.
 */
export class CountingDeadline extends Deadline {
  calls = 0;
  constructor(private readonly checks: number) {
    super(Number.POSITIVE_INFINITY);
  }
  override remainingMs(): number {
    return this.calls > this.checks ? 1_500 : Number.POSITIVE_INFINITY;
  }
  override isNear(needMs = 0): boolean {
    this.calls++;
    return this.remainingMs() <= needMs;
  }
}
