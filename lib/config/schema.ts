// The configuration schema: one typed, validated shape for `cdk synth`, the Lambda runtime and the local runner.
import * as z from 'zod';
import { SAFE_IDENTIFIER } from '../db/identifiers';
import { ROUTINE_IDS, ROUTINES, TASK_IDS } from '../catalogue';
import { targetConflicts } from './conflicts';
import { checkFleet, DEFAULT_FLEET, fleetSchema } from './fleet';
import { checkRoutineBatches } from './routine-batches';
import { cronSpecIssues } from './cron';

const identifier = z
  .string()
  .regex(SAFE_IDENTIFIER, 'must be 1-64 characters of letters, digits, _ or $');

const tableName = z
  .string()
  .regex(/^[A-Za-z0-9_$]{1,64}(\.[A-Za-z0-9_$]{1,64})?$/, 'must be table or schema.table (letters, digits, _ or $)');

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

// Scheduler cron fields: digits, ranges, lists, steps, wildcards, and L/W/# for day fields.
const cronField = z.string().regex(/^[0-9A-Za-z*?,\/\-#]{1,40}$/, 'not a cron field');
export const cronSpecSchema = z
  .strictObject({
    minute: cronField.describe('Minute field (0-59) in Scheduler\'s cron dialect.'),
    hour: cronField.describe('Hour field (0-23), in the maintenance time zone.'),
    day: cronField.optional().describe('Day-of-month field (1-31, L, W); default `*`, or `?` when weekDay is set.'),
    month: cronField.optional().describe('Month field (1-12 or JAN-DEC); default `*`.'),
    weekDay: cronField.optional().describe('Day-of-week field (1-7 or SUN-SAT, L, #); default `?`.'),
  })
  // Ranges, steps, names and the day-field rule as Scheduler reads them (lib/config/cron.ts): an impossible spec fails synth, not deploy.
  .superRefine((spec, ctx) => {
    if (Object.values(spec).some((v) => typeof v !== 'string' || !cronField.safeParse(v).success)) return; // already reported
    for (const issue of cronSpecIssues(spec)) ctx.addIssue({ code: 'custom', path: issue.field ? [issue.field] : [], message: issue.message });
  });

export const WHERE_OPERATORS = ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN', 'IS NULL', 'IS NOT NULL'] as const;

const scalar = z.union([z.string().max(1024), z.number().finite(), z.boolean()]);

const whereClause = z
  .strictObject({
    column: identifier.describe('Column compared.'),
    op: z.enum(WHERE_OPERATORS).describe('Operator.'),
    value: z
      .union([scalar, z.array(scalar).min(1).max(1000)])
      .optional()
      .describe('A single value; a list for IN and NOT IN; absent for IS NULL and IS NOT NULL. Always a bound parameter, never SQL.'),
  })
  .superRefine((w, ctx) => {
    const nullOp = w.op === 'IS NULL' || w.op === 'IS NOT NULL';
    const listOp = w.op === 'IN' || w.op === 'NOT IN';
    if (nullOp && w.value !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `must be absent for ${w.op}` });
    } else if (!nullOp && w.value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is required for ${w.op}` });
    } else if (listOp !== Array.isArray(w.value) && !nullOp) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: listOp ? `must be a list for ${w.op}` : `must be a single value for ${w.op}`,
      });
    }
  });

export const WALKS = ['auto', 'primary-key', 'date-index'] as const;

// Descriptions shared by cleanupRules[] and archiveOrders (docs/configuration.md is generated from them).
const WALK_TEXT = 'How chunks are cut: by primary-key ranges, by the date index, or chosen per run from the data (`auto`).';
const ARCHIVE_SCHEMA_TEXT = 'Archive destination schema (same server); default: the source table\'s schema.';
const CREATE_ARCHIVE_SCHEMA_TEXT =
  'Create a missing archiveSchema (with the source schema\'s character set and collation); otherwise a missing one refuses the rule.';
const ARCHIVE_TABLE_TEXT = 'Archive table name; default `<table>_archive`.';
const DATE_FORMAT_TEXT = 'How an integer dateColumn stores time (DATE, DATETIME and TIMESTAMP columns take none).';

/** How an integer `dateColumn` stores time (DATE, DATETIME and TIMESTAMP columns take none). */
export const DATE_FORMATS = ['unix-seconds', 'unix-millis', 'yyyymmdd'] as const;

export const cleanupRuleSchema = z
  .strictObject({
    table: tableName.describe('`table` (in the target\'s first schema) or `schema.table`.'),
    dateColumn: identifier.describe('Column compared with the cutoff: DATE, DATETIME or TIMESTAMP, or an integer with dateFormat.'),
    dateFormat: z.enum(DATE_FORMATS).optional().describe(DATE_FORMAT_TEXT),
    retentionDays: z.number().int().min(1).max(36500).describe('Rows older than this many days go (cutoff: now − retentionDays, fixed in UTC at the start of the run).'),
    action: z.enum(['delete', 'archive']).describe('`delete` the rows, or `archive` them (copied to the archive table and deleted, one transaction per chunk).'),
    where: z.array(whereClause).max(20).default([]).describe('Extra criteria a row must all match, `{column, op, value}`; values are bound parameters, never SQL.'),
    archiveSchema: identifier.optional().describe(ARCHIVE_SCHEMA_TEXT),
    createArchiveSchema: z.boolean().optional().describe(CREATE_ARCHIVE_SCHEMA_TEXT),
    archiveTable: identifier.optional().describe(ARCHIVE_TABLE_TEXT),
    allowFullScan: z.boolean().default(false).describe('Allow a rule whose date column has no usable index (every chunk then scans).'),
    walk: z.enum(WALKS).default('auto').describe(WALK_TEXT),
    chunkTimeSeconds: z.number().min(0.05).max(10).optional().describe('Target duration of this rule\'s chunks instead of purge.chunkTimeSeconds (the contended target is never above it).'),
    cascade: z
      .boolean()
      .optional()
      .describe('Delete rules only: go ahead over ON DELETE CASCADE / SET NULL child tables, counting the child rows each chunk removes or changes.'),
  })
  .superRefine((r, ctx) => {
    if (r.cascade && r.action === 'archive') {
      ctx.addIssue({ code: 'custom', path: ['cascade'], message: 'is for delete rules only: an archive rule never cascades (it is refused over ON DELETE CASCADE / SET NULL children)' });
    }
  });

export const archiveOrdersSchema = z
  .strictObject({
    table: tableName.default('orders').describe('Orders table: `table` (in the target\'s first schema) or `schema.table`.'),
    dateColumn: identifier.default('completed_at').describe('Completion date of an order, compared with the cutoff.'),
    dateFormat: z.enum(DATE_FORMATS).optional().describe(DATE_FORMAT_TEXT),
    statusColumn: identifier.default('status').describe('Status column of an order.'),
    completedValues: z
      .array(z.union([z.string().max(64), z.number()]))
      .min(1)
      .max(20)
      .default(['completed'])
      .describe('Values of statusColumn that mark an order completed.'),
    daysOld: z.number().int().min(1).max(36500).default(365).describe('Completed orders older than this many days move to the archive (the payload may set another).'),
    archiveSchema: identifier.optional().describe(ARCHIVE_SCHEMA_TEXT),
    createArchiveSchema: z.boolean().optional().describe(CREATE_ARCHIVE_SCHEMA_TEXT),
    archiveTable: identifier.optional().describe(ARCHIVE_TABLE_TEXT),
    walk: z.enum(WALKS).default('auto').describe(WALK_TEXT),
  })
  .describe('archive-orders: completed orders older than `daysOld` move to the archive. Without it, no archive-orders schedule.');

export const purgeSettingsSchema = z.strictObject({
  chunkTimeSeconds: z.number().min(0.05).max(10).default(0.5).describe('Target duration of one chunk\'s transaction; chunk sizes adapt to it (pt-online-schema-change --chunk-time).'),
  contendedChunkTimeSeconds: z.number().min(0.001).max(10).default(0.005).describe('Chunk duration while the server shows row-lock waits: how long the application may wait for us.'),
  niceRatio: z.number().min(0).max(100).default(0.05).describe('While the application is live, rest this fraction of each chunk\'s time after it (gh-ost --nice-ratio; owed per chunk, taken in whole milliseconds).'),
  initialChunkRows: z.number().int().min(1).max(1_000_000).default(5000).describe('Rows of the first chunk, before a rate is measured (maxChunkBytes may cut it).'),
  minChunkRows: z.number().int().min(1).max(1_000_000).default(100).describe('Fewest rows a chunk shrinks to (maxChunkBytes may cut below it).'),
  maxChunkRows: z.number().int().min(1).max(1_000_000).default(250_000).describe('Most rows a chunk grows to.'),
  maxChunkBytes: z.number().int().min(65_536).max(1_073_741_824).default(16 * 1024 * 1024).describe('Bytes one chunk may move at most, from the rows\' size (sampled, and table statistics): the first chunk and every later one stay under it, below minChunkRows too. 16 MiB: about chunkTimeSeconds (0.5 s) at the ~35 MB/s a chunk of large rows moves, one binlog transaction a replica applies at once, far under redo and group-replication limits.'),
  maxThreadsRunning: z.number().int().min(1).max(100_000).default(40).describe('Pause while the server\'s Threads_running is above this.'),
  maxReplicaLagSeconds: z.number().min(0).max(86_400).default(30).describe('Pause while replica lag (Aurora replicas, or the replicas listed on the target) is above this.'),
  dryRunExactCountLimit: z.number().int().min(0).default(1_000_000).describe('Dry runs count exactly up to this many rows, then estimate (and say so).'),
  prefetchBoundaries: z.boolean().default(true).describe('Read each chunk\'s boundary on a second connection while the previous chunk runs (one more connection per purge). Off: read between chunks.'),
  idleWalkers: z.number().int().min(1).max(2).default(2).describe('Chunks in flight at once while the application is not writing: 2 runs every other chunk on one more connection (a third, beside the boundary reader); at the first sign of the application the walk goes back to one. 1: never.'),
  pkWalkMinMatchRatio: z.number().min(0).max(1).default(0.3).describe('With `walk: auto`, walk primary-key ranges when at least this share of the rows in the key range match.'),
  maxRunSeconds: z.number().int().min(1).max(900).optional().describe('Stop a cleanup/archive run after this long even when Lambda would allow more (the payload may lower it).'),
}).describe('Chunking and throttling of purges and archives, cleanup-data and archive-orders (pt-archiver / gh-ost style).');


const thresholdFields = {
  fragmentationPercent: z
    .number()
    .min(1)
    .max(100)
    .describe('optimize-tables rebuilds tables whose free space is at least this % of the file (and at least optimizeMinSizeMb large).'),
  optimizeMinSizeMb: z.number().min(0).describe('optimize-tables rebuilds only tables of at least this many MB.'),
  analyzeAfterDays: z.number().min(0).max(3650).describe('Statistics older than this many days are stale: analyze-tables analyzes the table.'),
  analyzeModifiedPercent: z.number().min(0.1).max(100).describe('Analyze a table once this share of its rows changed since its statistics (InnoDB\'s modification counter).'),
};
const DEFAULT_THRESHOLDS = { fragmentationPercent: 30, optimizeMinSizeMb: 100, analyzeAfterDays: 7, analyzeModifiedPercent: 5 };
const thresholdsSchema = z.strictObject({
  fragmentationPercent: thresholdFields.fragmentationPercent.default(DEFAULT_THRESHOLDS.fragmentationPercent),
  optimizeMinSizeMb: thresholdFields.optimizeMinSizeMb.default(DEFAULT_THRESHOLDS.optimizeMinSizeMb),
  analyzeAfterDays: thresholdFields.analyzeAfterDays.default(DEFAULT_THRESHOLDS.analyzeAfterDays),
  analyzeModifiedPercent: thresholdFields.analyzeModifiedPercent.default(DEFAULT_THRESHOLDS.analyzeModifiedPercent),
}).describe('When analyze-tables and optimize-tables act on a table; a target may override each (targets[].thresholds).');
/** Per-target overrides: no defaults here, or an empty override would reset the global values. */
const thresholdOverridesSchema = z.strictObject({
  fragmentationPercent: thresholdFields.fragmentationPercent.optional(),
  optimizeMinSizeMb: thresholdFields.optimizeMinSizeMb.optional(),
  analyzeAfterDays: thresholdFields.analyzeAfterDays.optional(),
  analyzeModifiedPercent: thresholdFields.analyzeModifiedPercent.optional(),
}).describe('Per-target overrides of `thresholds`: a field not given keeps the global value.');

export const statisticsSettingsSchema = z.strictObject({
  historySchema: identifier.optional().describe('Schema of the history tables (created if missing); default: the run log\'s schema.'),
  growthWindowDays: z.number().int().min(2).max(3650).default(30).describe('Least-squares window for growth rates.'),
  minHistoryHours: z.number().min(1).max(8760).default(20).describe('A trend needs snapshots spanning at least this long; before that the result says "not enough history".'),
  historyRetentionDays: z.number().int().min(7).max(36500).default(400).describe('Snapshots older than this are deleted by the collect run.'),
  exactCountMaxRows: z.number().int().min(0).max(100_000_000).default(0).describe('Exact COUNT(*) for tables whose row estimate is at most this (0: estimates only).'),
  metricTables: z.number().int().min(0).max(200).default(10).describe('Per-table metrics only for this many largest tables (metric cardinality is billed).'),
  topGrowers: z.number().int().min(0).max(100).default(5).describe('"Top growers" listed in the result and reports.'),
}).describe('collect-statistics: where snapshots go and how trends are computed.');

export const recommendationSettingsSchema = z.strictObject({
  largeTableGb: z.number().positive().max(100_000).default(1).describe('LARGE_TABLE: tables larger than this many GB in total.'),
  rapidGrowthMbPerDay: z.number().positive().max(10_000_000).default(100).describe('RAPID_GROWTH: tables growing faster than this many MB per day (from the statistics history).'),
  storageHorizonDays: z.number().int().min(1).max(3650).default(30).describe('Days to the storage limit below which capacity is a high-priority item.'),
  autoIncrementPercent: z.number().min(1).max(100).default(75).describe('AUTO_INCREMENT_EXHAUSTION: medium priority once this % of the column type\'s range is used (high at 90%).'),
  connectionsWarningPercent: z.number().min(1).max(100).default(80).describe('CONNECTION_USAGE: medium priority at this % of max_connections.'),
  connectionsCriticalPercent: z.number().min(1).max(100).default(95).describe('CONNECTION_USAGE: high priority at this % of max_connections.'),
  slowQueryWarningSeconds: z.number().positive().max(86_400).default(2).describe('SLOW_STATEMENT: medium priority at this average statement time (performance_schema digests).'),
  slowQueryCriticalSeconds: z.number().positive().max(86_400).default(5).describe('SLOW_STATEMENT: high priority at this average statement time.'),
  purgeBehindDays: z.number().min(0).max(3650).default(2).describe('A retention rule\'s table holding rows this many days past its cutoff: the purge is falling behind.'),
}).describe('recommendations: thresholds of each check (fragmentation, size floor and statistics age come from `thresholds`).');

export const optimizeSettingsSchema = z.strictObject({
  lockWaitTimeoutSeconds: z.number().int().min(1).max(300).default(3).describe('lock_wait_timeout for the ALTER: how long the application may queue behind its metadata lock request.'),
  longTransactionSeconds: z.number().int().min(1).max(86_400).default(60).describe('Without metadata-lock visibility, a transaction open this long counts as possibly holding the table.'),
  defaultRebuildMbPerSecond: z.number().min(0.1).max(10_000).default(10).describe('Rebuild rate assumed before earlier runs measured one (conservative).'),
  allowLockingRebuild: z.boolean().default(false).describe('Allow LOCK=SHARED rebuilds (reads go on, writes wait) where LOCK=NONE is impossible: FULLTEXT and SPATIAL indexes.'),
  maxTablesPerRun: z.number().int().min(1).max(10_000).default(50).describe('At most this many tables per optimize run.'),
  minDaysBetweenRebuilds: z.number().min(0).max(365).default(7).describe('optimize-tables leaves a table alone for this many days after rebuilding it (a table whose file preallocation reads as free space would otherwise be rebuilt every night for nothing). A table named with `force` is rebuilt anyway.'),
}).describe('optimize-tables and rebuild-indexes: the online rebuild and its guards.');

/** Tasks and routines: either may be disabled or given its own schedule per target. */
const taskIdSchema = z.enum([...TASK_IDS, ...ROUTINE_IDS] as [string, ...string[]]);

const taskSettingsSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('false: no schedule (and no silence alarm) for this task or routine on this target.'),
  schedule: cronSpecSchema
    .optional()
    .describe('Another cron in the maintenance time zone instead of the catalogue\'s, e.g. {"minute":"30","hour":"6","weekDay":"SUN"} (docs/schedules.md).'),
});

const secretArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/,
    'must be a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)',
  );

export const targetSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'must be 1-31 lowercase letters, digits or -, starting with a letter or digit')
    .describe('Lowercase id (at most 31 characters): schedule names, the metric dimension `Database`, the payload\'s `target`.'),
  secretArn: secretArn.describe(
    'Secrets Manager secret in the RDS shape (host, port, username, password, optional dbname). The complete ARN (with the 6-character suffix) grants exactly that secret; a partial ARN is granted as `NAME-??????`.',
  ),
  server: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'must be 1-63 lowercase letters, digits, . or -, starting with a letter or digit')
    .optional().describe('The database server this target lives on, when several targets share one (two schemas of one RDS instance as two targets): the fleet routine runs their routines one after another, never at the same time. Default: its own server.'),
  kmsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'must be a KMS key ARN').optional().describe('Customer-managed KMS key of the secret, if any: decrypt is granted on it alone.'),
  schemas: z.array(identifier).min(1).max(100).describe('Schemas maintained on that server; payload tables must be in them.'),
  tls: z.enum(['auto', 'required', 'disabled']).default('auto').describe('`auto`: TLS with the RDS CA bundle unless the host is local.'),
  excludeTables: z
    .array(tableName)
    .max(1000)
    .default([])
    .describe('`table` or `schema.table` never touched by scheduled runs; a rule or rebuild table naming one fails `cdk synth` (docs/configuration-checks.md).'),
  cleanupRules: z
    .array(cleanupRuleSchema)
    .max(500)
    .default([])
    .describe('Retention rules, run one after another by cleanup-data (docs/retention-dates-and-foreign-keys.md, docs/archive-safety.md).'),
  archiveOrders: archiveOrdersSchema.optional(),
  replicaSecretArns: z.array(secretArn).max(20).default([]).describe('Replicas whose lag throttles purges: secrets of read-only users on them (SHOW REPLICA STATUS; the user needs REPLICATION CLIENT, on MariaDB 10.5+ SLAVE MONITOR).'),
  thresholds: thresholdOverridesSchema.optional(),
  storageLimitGb: z.number().positive().max(1_000_000).optional().describe('Allocated storage of the instance, for capacity projections (days until the schemas reach it).'),
  rebuildTables: z.array(tableName).max(1000).default([]).describe('Tables rebuilt by the weekly rebuild-indexes run (table or schema.table).'),
  tasks: z
    .partialRecord(taskIdSchema, taskSettingsSchema)
    .default({})
    .describe('Per task or routine id: disable its schedule on this target or give it another (docs/schedules.md).'),
});

const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export const configSchema = z
  .strictObject({
    timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin or UTC').default('UTC').describe('Maintenance-window time zone (IANA). Schedules follow it, DST included.'),
    metricNamespace: z
      .string()
      .regex(/^[A-Za-z0-9_./#:-]{1,255}$/, 'not a CloudWatch namespace')
      .default('DbMaint')
      .describe('CloudWatch namespace of all metrics and alarms.'),
    network: z
      .strictObject({
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id (vpc-...)').describe('The VPC, imported by id (synth looks nothing up).'),
        subnetIds: z
          .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id (subnet-...)'))
          .min(1)
          .describe('Subnets of the functions: they need a route to Secrets Manager (a VPC interface endpoint, or a NAT gateway).'),
        securityGroupIds: z
          .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must be a security group id (sg-...)'))
          .min(1)
          .describe('Security groups of the functions: they must reach the databases on 3306.'),
      })
      .optional()
      .describe('Where the functions run. Without it, outside any VPC (only for publicly reachable databases).'),
    bundling: z
      .strictObject({
        sourceMap: z.boolean().default(false).describe('Source maps in the Lambda bundles, and --enable-source-maps: readable stack traces, slower cold starts.'),
      })
      .default({ sourceMap: false })
      .describe('Lambda bundles: source maps cost cold-start time (docs/bundles.md); off, stack traces name minified functions.'),
    logRetentionDays: z
      .number()
      .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(90)
      .describe(`CloudWatch Logs retention of the functions' log groups, in days: one of ${LOG_RETENTION_DAYS.join(', ')}.`),
    alarms: z
      .strictObject({
        email: z.array(z.email()).max(20).default([]).describe('Email subscriptions of the alarm topic.'),
        fragmentationPercent: z.number().min(1).max(100).default(50).describe('Alarm when MaxFragmentationPercent (tables over the optimize floor) reaches this.'),
        growthMbPerDay: z.number().positive().default(1024).describe('Alarm when GrowthBytesPerDay exceeds this many MB.'),
        daysToStorageLimit: z.number().positive().default(14).describe('Alarm when DaysToStorageLimit falls below this.'),
        purgeBehindRuns: z.number().int().min(2).max(30).default(3).describe('Alarm when a table\'s RowsRemaining has not shrunk over this many consecutive daily runs.'),
      })
      .default({ email: [], fragmentationPercent: 50, growthMbPerDay: 1024, daysToStorageLimit: 14, purgeBehindRuns: 3 })
      .describe('The alarm topic\'s subscriptions and the thresholds of the per-target alarms (docs/operations.md).'),
    session: z
      .strictObject({
        lockWaitTimeoutSeconds: z.number().int().min(1).max(3600).default(5).describe('lock_wait_timeout (metadata locks) of every session.'),
        innodbLockWaitTimeoutSeconds: z.number().int().min(1).max(3600).default(5).describe('innodb_lock_wait_timeout (row locks) of every session.'),
        connectTimeoutSeconds: z.number().int().min(1).max(60).default(10).describe('Connect timeout.'),
      })
      .default({ lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 10 })
      .describe('Settings of every session: short lock waits, so maintenance gives way to the application instead of queueing in front of it.'),
    runLog: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Log every command in the run log table.'),
        schema: identifier.default('dbmaint').describe('Schema of the run log (created if missing); the statistics history defaults to it.'),
        table: identifier.default('command_log').describe('Table of the run log (created if missing).'),
      })
      .default({ enabled: true, schema: 'dbmaint', table: 'command_log' })
      .describe('The run log: one row per command, after Ola Hallengren\'s CommandLog (docs/run-log-and-grants.md).'),
    thresholds: thresholdsSchema.default(DEFAULT_THRESHOLDS),
    purge: purgeSettingsSchema.default(purgeSettingsSchema.parse({})),
    statistics: statisticsSettingsSchema.default(statisticsSettingsSchema.parse({})),
    optimize: optimizeSettingsSchema.default(optimizeSettingsSchema.parse({})),
    recommendations: recommendationSettingsSchema.default(recommendationSettingsSchema.parse({})),
    reports: z
      .strictObject({
        from: z.email().describe('Sender address; ses:SendEmail is granted only for it and its domain, only to the mail-sending tasks.'),
        to: z.array(z.email()).min(1).max(50).describe('Recipients.'),
        sendMaintenanceReports: z.boolean().default(true).describe('Mail the daily report (daily-report).'),
        sendMaintenanceAlerts: z.boolean().default(true).describe('Mail alerts: high-priority recommendations and failed tasks.'),
        sendWeeklyReports: z.boolean().default(true).describe('Mail the weekly report (weekly-report).'),
        alertPeriodHours: z.number().min(1).max(24 * 90).default(24).describe('The same alert condition is mailed at most once per this many hours.'),
        topRecommendations: z.number().int().min(0).max(100).default(10).describe('Recommendations listed in the daily report.'),
      })
      .optional()
      .describe('SES reports and alerts. Without it, no report task runs.'),
    fleet: fleetSchema.default(DEFAULT_FLEET),
    targets: z.array(targetSchema).min(1).max(500).describe('The databases maintained: one target per server and set of schemas.'),
  })
  .superRefine((cfg, ctx) => {
    const p = cfg.purge;
    if (p.minChunkRows > p.maxChunkRows) {
      ctx.addIssue({ code: 'custom', path: ['purge', 'minChunkRows'], message: 'must not exceed purge.maxChunkRows' });
    }
    if (p.initialChunkRows < p.minChunkRows || p.initialChunkRows > p.maxChunkRows) {
      ctx.addIssue({ code: 'custom', path: ['purge', 'initialChunkRows'], message: 'must lie between purge.minChunkRows and purge.maxChunkRows' });
    }
    const seen = new Set<string>();
    cfg.targets.forEach((t, i) => {
      if (seen.has(t.name)) {
        ctx.addIssue({ code: 'custom', path: ['targets', i, 'name'], message: `duplicate target name '${t.name}'` });
      }
      seen.add(t.name);
      // Contradictions between the target's table lists: rules, excludeTables, rebuildTables (lib/config/conflicts.ts).
      for (const issue of targetConflicts(t, i)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    });
    checkFleet(cfg, ctx);
    checkRoutineBatches(cfg, ROUTINES, ctx);
  });

export type DbMaintConfig = z.output<typeof configSchema>;
export type TargetConfig = DbMaintConfig['targets'][number];
export type CleanupRule = z.output<typeof cleanupRuleSchema>;
export type ArchiveOrdersConfig = z.output<typeof archiveOrdersSchema>;
export type PurgeSettings = z.output<typeof purgeSettingsSchema>;
export type WhereClause = CleanupRule['where'][number];
export type Walk = (typeof WALKS)[number];
export type DateFormat = (typeof DATE_FORMATS)[number];
export type Thresholds = DbMaintConfig['thresholds'];
export type StatisticsSettings = z.output<typeof statisticsSettingsSchema>;
export type OptimizeSettings = z.output<typeof optimizeSettingsSchema>;
export type RecommendationSettings = z.output<typeof recommendationSettingsSchema>;

/** Where the statistics history lives: its own schema if configured, else the run log's. */
export function historySchemaOf(config: DbMaintConfig): string {
  return config.statistics.historySchema ?? config.runLog.schema;
}

/** Thresholds for one target: the global values overridden by the target's own. */
export function thresholdsFor(config: DbMaintConfig, target: TargetConfig): Thresholds {
  const overrides = Object.fromEntries(Object.entries(target.thresholds ?? {}).filter(([, v]) => v !== undefined));
  return { ...config.thresholds, ...overrides };
}
