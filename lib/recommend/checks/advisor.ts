// Server advisor checks from global status sampled twice an interval apart (rates, not counters since boot): buffer pool, redo log, temporary tables, table and thread caches, sorts, long transactions.
import { globalStatus, globalVariables } from '../../db/global-status';
import type { ServerKind } from '../../db/flavour';
import { item, mib, perRun, round, type Check, type CheckContext, type CheckOutcome } from '../check';
import type { Recommendation } from '../types';

const COUNTERS = [
  'Uptime',
  'Innodb_buffer_pool_read_requests',
  'Innodb_buffer_pool_reads',
  'Innodb_buffer_pool_wait_free',
  'Innodb_buffer_pool_pages_free',
  'Innodb_buffer_pool_pages_dirty',
  'Innodb_buffer_pool_pages_total',
  'Created_tmp_tables',
  'Created_tmp_disk_tables',
  'Opened_tables',
  'Opened_table_definitions',
  'Open_tables',
  'Open_table_definitions',
  'Threads_created',
  'Connections',
  'Sort_merge_passes',
  'Sort_rows',
  'Innodb_os_log_written',
  'Innodb_log_waits',
  // Checkpoint age: MariaDB's own counter; MySQL 8.0.30+ gives both LSNs.
  'Innodb_checkpoint_age',
  'Innodb_redo_log_current_lsn',
  'Innodb_redo_log_checkpoint_lsn',
] as const;
type Counter = (typeof COUNTERS)[number];

export interface StatusSample {
  /** Seconds between the two samples. */
  readonly seconds: number;
  /** Counter increase over the interval. */
  delta(name: Counter): number;
  /** The second sample's value (gauges such as free pages). */
  now(name: Counter): number;
}

/** Two samples of the counters, `advisorSampleSeconds` apart: the advisor's rates are this interval's, not the server's lifetime. */
const sample = perRun(async (ctx: CheckContext): Promise<StatusSample> => {
  const advisor = ctx.opts.advisor!;
  const a = await globalStatus(ctx.db, COUNTERS);
  const t0 = Date.now();
  // Tests run their workload here, so that what the interval sees does not depend on timing.
  if (advisor.betweenSamples) await advisor.betweenSamples();
  const wait = advisor.sampleSeconds * 1000 - (Date.now() - t0);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const b = await globalStatus(ctx.db, COUNTERS);
  const seconds = round((Date.now() - t0) / 1000, 1);
  return { seconds, delta: (n) => Math.max(0, (b.get(n) ?? 0) - (a.get(n) ?? 0)), now: (n) => b.get(n) ?? 0 };
});

const NOT_SAMPLED = 'server status not sampled (no advisor interval given)';

/** A check judged on the advisor's sample: without the sampling (no interval given) it reports nothing and says so. */
function sampledCheck(code: string, judge: (ctx: CheckContext, s: StatusSample) => Promise<CheckOutcome>): Check {
  return { code, run: async (ctx) => (ctx.opts.advisor ? judge(ctx, await sample(ctx)) : { items: [], note: NOT_SAMPLED }) };
}

/** The change that sets a variable: SET PERSIST on MySQL 8 (survives a restart), SET GLOBAL plus the option file on MariaDB, the parameter group on RDS/Aurora. */
function setVariables(kind: ServerKind, vars: Readonly<Record<string, number>>): string {
  const list = Object.entries(vars).map(([k, v]) => `${k} = ${v}`);
  const group = `RDS/Aurora: set ${Object.keys(vars).join(', ')} in the DB parameter group (dynamic: no reboot)`;
  if (kind === 'aurora-mysql') return group;
  if (kind === 'mariadb') return `SET GLOBAL ${list.join(', ')}; /* and the same under [mysqld] in the option file, or it is lost at restart */ — ${group}`;
  return `SET PERSIST ${list.join(', ')}; — ${group}`;
}

const MIB = 1024 * 1024;
/** MiB, or KiB below one MiB (a 16 KiB limit is not "0 MiB"). */
const size = (bytes: number) => (bytes >= MIB ? mib(bytes) : `${Math.round(bytes / 1024)} KiB`);
const CHUNK = 128 * MIB;

export const bufferPoolTooSmall = sampledCheck('BUFFER_POOL_TOO_SMALL', async (ctx, s) => {
  const [v] = await ctx.db.query<{ size: number }>('SELECT @@innodb_buffer_pool_size AS size');
  const pool = Number(v?.size ?? 0);
  const data = (await ctx.sizes()).filter((t) => (t.engine ?? '').toLowerCase() === 'innodb').reduce((n, t) => n + t.dataBytes + t.indexBytes, 0);
  const requests = s.delta('Innodb_buffer_pool_read_requests');
  const misses = s.delta('Innodb_buffer_pool_reads');
  const waits = s.delta('Innodb_buffer_pool_wait_free');
  const missPercent = requests > 0 ? round((misses / requests) * 100, 2) : 0;
  const limit = ctx.opts.settings.bufferPoolMissPercent;
  // Misses that matter: enough reads to judge, a miss share over the limit, or sessions waiting for a free page.
  const missing = requests >= 1000 && missPercent > limit;
  if (pool >= data || (!missing && waits === 0)) return { items: [] };
  const suggested = Math.ceil((data * 1.1) / CHUNK) * CHUNK;
  return {
    items: [
      item(
        'BUFFER_POOL_TOO_SMALL',
        waits > 0 ? 'high' : 'medium',
        'server',
        `innodb_buffer_pool_size ${size(pool)} is smaller than the data and indexes of the configured schemas (${mib(data)}): ${missPercent}% of ${requests.toLocaleString('en')} page reads went to disk over ${s.seconds} s${waits ? `, and sessions waited ${waits} times for a free page` : ''}`,
        {
          bufferPoolBytes: pool,
          dataAndIndexBytes: data,
          readRequests: requests,
          diskReads: misses,
          missPercent,
          thresholdPercent: limit,
          waitFree: waits,
          freePages: s.now('Innodb_buffer_pool_pages_free'),
          dirtyPages: s.now('Innodb_buffer_pool_pages_dirty'),
          totalPages: s.now('Innodb_buffer_pool_pages_total'),
          intervalSeconds: s.seconds,
          restartNeeded: false,
          risk: 'memory: the pool must fit beside connections and the OS (on RDS keep the {DBInstanceClassMemory*3/4} formula unless the instance class grows)',
        },
        setVariables(ctx.db.flavour.kind, { innodb_buffer_pool_size: suggested }),
      ),
    ],
  };
});

export const tmpTablesToDisk = sampledCheck('TMP_TABLES_TO_DISK', async (ctx, s) => {
  const created = s.delta('Created_tmp_tables');
  const disk = s.delta('Created_tmp_disk_tables');
  const percent = created > 0 ? round((disk / created) * 100, 1) : 0;
  const limit = ctx.opts.settings.tmpDiskPercent;
  if (created < 20 || percent < limit) return { items: [] };
  const [v] = await ctx.db.query<{ tmp: number; heap: number }>('SELECT @@tmp_table_size AS tmp, @@max_heap_table_size AS heap');
  const effective = Math.min(Number(v?.tmp ?? 0), Number(v?.heap ?? 0));
  const suggested = Math.max(64 * MIB, Math.ceil((effective * 4) / MIB) * MIB);
  return {
    items: [
      item(
        'TMP_TABLES_TO_DISK',
        percent >= 50 ? 'high' : 'medium',
        'server',
        `${percent}% of the ${created.toLocaleString('en')} implicit temporary tables of the last ${s.seconds} s went to disk: in-memory temporary tables are limited to ${size(effective)} (the smaller of tmp_table_size and max_heap_table_size)`,
        { tmpTables: created, diskTmpTables: disk, diskPercent: percent, thresholdPercent: limit, tmpTableSize: Number(v?.tmp ?? 0), maxHeapTableSize: Number(v?.heap ?? 0), intervalSeconds: s.seconds, restartNeeded: false, risk: 'memory per query: each temporary table may grow to the new size; also check the queries (EXPLAIN shows "Using temporary")' },
        setVariables(ctx.db.flavour.kind, { tmp_table_size: suggested, max_heap_table_size: suggested }),
      ),
    ],
  };
});

export const tableCacheMisses = sampledCheck('TABLE_CACHE_MISSES', async (ctx, s) => {
  const [v] = await ctx.db.query<{ cache: number; defs: number }>('SELECT @@table_open_cache AS cache, @@table_definition_cache AS defs');
  const cache = Number(v?.cache ?? 0);
  const defs = Number(v?.defs ?? 0);
  const opened = s.delta('Opened_tables');
  const openedDefs = s.delta('Opened_table_definitions');
  const perSecond = round(opened / Math.max(s.seconds, 0.1), 2);
  // Misses: tables opened again over the interval while the cache is full (an open after FLUSH TABLES or a first use is no miss).
  const full = s.now('Open_tables') >= cache * 0.95;
  if (!full || opened < ctx.opts.settings.tableCacheMissesPerInterval) return { items: [] };
  const vars: Record<string, number> = { table_open_cache: Math.max(cache * 2, 400) };
  if (s.now('Open_table_definitions') >= defs * 0.95 && openedDefs > 0) vars['table_definition_cache'] = Math.max(defs * 2, 400);
  return {
    items: [
      item(
        'TABLE_CACHE_MISSES',
        'medium',
        'server',
        `${opened.toLocaleString('en')} tables opened in ${s.seconds} s (${perSecond}/s) with the table cache full (${s.now('Open_tables')} of table_open_cache ${cache})${openedDefs ? `; ${openedDefs} table definitions read again (table_definition_cache ${defs})` : ''}`,
        { openedTables: opened, openedPerSecond: perSecond, openTables: s.now('Open_tables'), tableOpenCache: cache, openedTableDefinitions: openedDefs, tableDefinitionCache: defs, intervalSeconds: s.seconds, restartNeeded: false, risk: 'file descriptors: each cached table holds one or two (open_files_limit)' },
        setVariables(ctx.db.flavour.kind, vars),
      ),
    ],
  };
});

interface OpenTransaction {
  id: number;
  seconds: number;
  user: string | null;
  host: string | null;
  command: string | null;
  state: string | null;
  info: string | null;
}

/** The oldest open transactions, with their sessions: what keeps InnoDB's purge (and the retention engine's deletes) from cleaning up. */
export const longTransactions: Check = {
  code: 'LONG_TRANSACTION',
  async run(ctx) {
    const limit = ctx.opts.settings.longTransactionSeconds;
    const rows = await ctx.db.query<OpenTransaction>(
      `SELECT p.ID AS id, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS seconds, p.USER AS user, p.HOST AS host, p.COMMAND AS command, p.STATE AS state, LEFT(p.INFO, 200) AS info
         FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
        WHERE p.ID <> CONNECTION_ID() AND t.trx_started < NOW() - INTERVAL ? SECOND
        ORDER BY t.trx_started LIMIT 5`,
      [limit],
    );
    let history: number | null = null;
    try {
      const [h] = await ctx.db.query<{ n: number }>("SELECT COUNT AS n FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'");
      history = h ? Number(h.n) : null;
    } catch {
      history = null; // the metric is optional: the transactions speak for themselves
    }
    return {
      items: rows.map((r) => {
        const idle = r.command === 'Sleep';
        return item(
          'LONG_TRANSACTION',
          Number(r.seconds) >= limit * 10 ? 'high' : 'medium',
          `connection ${r.id}`,
          `connection ${r.id} (${r.user ?? '?'}@${r.host ?? '?'}) has had a transaction open for ${Number(r.seconds).toLocaleString('en')} s${idle ? ', idle in transaction' : r.info ? `, running: ${r.info.slice(0, 100)}` : ''}; until it ends InnoDB cannot purge the rows deleted since it began${history !== null ? ` (history list length ${history.toLocaleString('en')})` : ''}, which slows every purge and the retention engine's deletes and holds the table's metadata lock against rebuilds`,
          { connectionId: Number(r.id), seconds: Number(r.seconds), user: r.user, host: r.host, idleInTransaction: idle, statement: r.info ? r.info.slice(0, 200) : null, historyListLength: history, thresholdSeconds: limit, restartNeeded: false, risk: 'KILL rolls its work back (a long rollback for a big transaction)' },
          `/* end it in the application (commit, or fix the code path that leaves it open); or, if it is abandoned: */ KILL ${Number(r.id)}`,
        );
      }),
    };
  },
};

export const threadCacheMisses = sampledCheck('THREAD_CACHE_MISSES', async (ctx, s) => {
  const connections = s.delta('Connections');
  const created = s.delta('Threads_created');
  const percent = connections > 0 ? round((created / connections) * 100, 1) : 0;
  if (connections < 20 || percent < ctx.opts.settings.threadCacheMissPercent) return { items: [] };
  const [v] = await ctx.db.query<{ size: number }>('SELECT @@thread_cache_size AS size');
  const current = Number(v?.size ?? 0);
  return {
    items: [
      item(
        'THREAD_CACHE_MISSES',
        'low',
        'server',
        `${created} of ${connections} connections over ${s.seconds} s needed a new thread (${percent}%): thread_cache_size is ${current}`,
        { connections, threadsCreated: created, missPercent: percent, threadCacheSize: current, intervalSeconds: s.seconds, restartNeeded: false, risk: 'little: idle cached threads hold a few hundred KB each' },
        setVariables(ctx.db.flavour.kind, { thread_cache_size: Math.max(16, current * 2) }),
      ),
    ],
  };
});

export const sortMergePasses = sampledCheck('SORT_MERGE_PASSES', async (ctx, s) => {
  const passes = s.delta('Sort_merge_passes');
  if (passes < ctx.opts.settings.sortMergePassesPerInterval) return { items: [] };
  const [v] = await ctx.db.query<{ size: number }>('SELECT @@sort_buffer_size AS size');
  const current = Number(v?.size ?? 0);
  return {
    items: [
      item(
        'SORT_MERGE_PASSES',
        'low',
        'server',
        `${passes} sort merge passes over ${s.seconds} s (${s.delta('Sort_rows').toLocaleString('en')} rows sorted): sorts did not fit sort_buffer_size (${size(current)}) and were merged through temporary files`,
        { sortMergePasses: passes, sortRows: s.delta('Sort_rows'), sortBufferSize: current, intervalSeconds: s.seconds, restartNeeded: false, risk: 'memory per sorting session: raise it moderately, or give the sorted queries an index' },
        setVariables(ctx.db.flavour.kind, { sort_buffer_size: Math.max(2 * MIB, current * 4) }),
      ),
    ],
  };
});

/** The redo log's capacity and the variable that sets it: innodb_redo_log_capacity from MySQL 8.0.30, one file on MariaDB 10.5+, files × size before. */
export function redoCapacity(kind: ServerKind, version: { major: number; minor: number; patch: number }, vars: ReadonlyMap<string, number>): { bytes: number; variable: string; dynamic: boolean } {
  const fileSize = vars.get('innodb_log_file_size') ?? 0;
  if (kind === 'mariadb') return { bytes: fileSize, variable: 'innodb_log_file_size', dynamic: version.major > 10 || version.minor >= 9 };
  const capacity = vars.get('innodb_redo_log_capacity');
  const at8030 = version.major > 8 || (version.major === 8 && (version.minor > 0 || version.patch >= 30));
  if (at8030 && capacity !== undefined) return { bytes: capacity, variable: 'innodb_redo_log_capacity', dynamic: true };
  return { bytes: fileSize * (vars.get('innodb_log_files_in_group') ?? 2), variable: 'innodb_log_file_size', dynamic: false };
}

const ROUND_REDO = 256 * MIB;

export const redoLogTooSmall = sampledCheck('REDO_LOG_TOO_SMALL', async (ctx, s) => {
  const kind = ctx.db.flavour.kind;
  if (kind === 'aurora-mysql') return { skipped: 'Aurora MySQL: the redo log lives in its storage layer and has no size to set' };
  const vars = await globalVariables(ctx.db, ['innodb_log_file_size', 'innodb_log_files_in_group', 'innodb_redo_log_capacity']);
  const cap = redoCapacity(kind, ctx.db.flavour, vars);
  const written = s.delta('Innodb_os_log_written');
  const perMinute = (written / Math.max(s.seconds, 0.1)) * 60;
  const minutes = ctx.opts.settings.redoLogMinutes;
  const holdsMinutes = perMinute > 0 ? round(cap.bytes / perMinute, 1) : null;
  const age = kind === 'mariadb' ? s.now('Innodb_checkpoint_age') : Math.max(0, s.now('Innodb_redo_log_current_lsn') - s.now('Innodb_redo_log_checkpoint_lsn'));
  const agePercent = cap.bytes > 0 ? round((age / cap.bytes) * 100, 1) : 0;
  // Too small: at the sampled write rate the log holds less than `redoLogMinutes` of writes, or the checkpoint is past
  // three quarters of it (where InnoDB starts flushing pages synchronously and writes stall).
  if (!((holdsMinutes !== null && holdsMinutes < minutes && written >= MIB) || agePercent >= 75)) return { items: [] };
  const suggested = Math.max(cap.bytes * 2, Math.ceil((perMinute * minutes) / ROUND_REDO) * ROUND_REDO);
  const perFile = cap.variable === 'innodb_log_file_size' && kind !== 'mariadb' ? Math.ceil(suggested / (vars.get('innodb_log_files_in_group') ?? 2) / MIB) * MIB : suggested;
  const restart = !cap.dynamic;
  const rds = `RDS: ${cap.variable} in the DB parameter group${restart ? ' (static: applied at the next reboot)' : ''}`;
  const fix =
    kind === 'mariadb'
      ? cap.dynamic
        ? `SET GLOBAL innodb_log_file_size = ${perFile}; /* resized online (MariaDB 10.9+); and under [mysqld] in the option file */ — ${rds}`
        : `innodb_log_file_size = ${perFile} under [mysqld] in the option file, then restart — ${rds}`
      : cap.dynamic
        ? `SET PERSIST innodb_redo_log_capacity = ${perFile}; — ${rds}`
        : `innodb_log_file_size = ${perFile} under [mysqld] in the option file, then restart (or upgrade to 8.0.30+ and SET PERSIST innodb_redo_log_capacity) — ${rds}`;
  return {
    items: [
      item(
        'REDO_LOG_TOO_SMALL',
        agePercent >= 75 ? 'high' : 'medium',
        'server',
        `the redo log (${mib(cap.bytes)}, ${cap.variable}) holds ${holdsMinutes ?? '∞'} minutes of writes at the rate of the last ${s.seconds} s (${mib(perMinute)} per minute), under the ${minutes} minutes it should${agePercent ? `; checkpoint age ${agePercent}% of it` : ''}: a full redo log forces synchronous page flushing, and every write waits`,
        { redoCapacityBytes: cap.bytes, variable: cap.variable, logBytesWritten: written, bytesPerMinute: Math.round(perMinute), holdsMinutes, targetMinutes: minutes, checkpointAgeBytes: age, checkpointAgePercent: agePercent, intervalSeconds: s.seconds, restartNeeded: restart, risk: 'disk: the log takes the new size on disk; crash recovery reads more log (longer after a crash)' },
        fix,
      ),
    ],
  };
});

/** Sessions that waited for room in the redo log buffer over the interval: the buffer is smaller than the transactions' log. */
export function logBufferWaits(kind: ServerKind, bufferBytes: number, waits: number, seconds: number): Recommendation | undefined {
  if (waits === 0) return undefined;
  // MariaDB's innodb_log_buffer_size is not dynamic; MySQL 8's is.
  const restart = kind === 'mariadb';
  const suggested = Math.max(64 * MIB, bufferBytes * 4);
  return item(
    'LOG_BUFFER_WAITS',
    'low',
    'server',
    `sessions waited ${waits} times over ${seconds} s for room in the redo log buffer (innodb_log_buffer_size ${size(bufferBytes)}): large transactions write more log than the buffer holds`,
    { logWaits: waits, logBufferSize: bufferBytes, intervalSeconds: seconds, restartNeeded: restart, risk: 'memory: one buffer for the server' },
    restart
      ? `innodb_log_buffer_size = ${suggested} under [mysqld] in the option file, then restart — RDS: innodb_log_buffer_size in the DB parameter group (static)`
      : setVariables(kind, { innodb_log_buffer_size: suggested }),
  );
}

export const logBufferWaitsCheck = sampledCheck('LOG_BUFFER_WAITS', async (ctx, s) => {
  const waits = s.delta('Innodb_log_waits');
  if (waits === 0) return { items: [] };
  const [v] = await ctx.db.query<{ size: number }>('SELECT @@innodb_log_buffer_size AS size');
  const found = logBufferWaits(ctx.db.flavour.kind, Number(v?.size ?? 0), waits, s.seconds);
  return { items: found ? [found] : [] };
});
