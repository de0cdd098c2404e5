// The configuration schema: one typed, validated shape for `cdk synth`, the Lambda runtime and the local runner.
import * as z from 'zod';
import { SAFE_IDENTIFIER } from '../db/identifiers';
import { ROUTINE_IDS, TASK_IDS } from '../catalogue';
import { DEFAULT_FLEET, fleetSchema } from './fleet';

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
export const CRON_FIELD = /^[0-9A-Za-z*?,\/\-#]{1,40}$/;
const cronField = z.string().regex(CRON_FIELD, 'not a cron field');
const cronSpecSchema = z.strictObject({
  minute: cronField,
  hour: cronField,
  day: cronField.optional(),
  month: cronField.optional(),
  weekDay: cronField.optional(),
});

const WHERE_OPERATORS = ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN', 'IS NULL', 'IS NOT NULL'] as const;

const scalar = z.union([z.string().max(1024), z.number().finite(), z.boolean()]);

const whereClause = z
  .strictObject({
    column: identifier,
    op: z.enum(WHERE_OPERATORS),
    value: z.union([scalar, z.array(scalar).min(1).max(1000)]).optional(),
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

/** How an integer `dateColumn` stores time (DATE, DATETIME and TIMESTAMP columns take none). */
export const DATE_FORMATS = ['unix-seconds', 'unix-millis', 'yyyymmdd'] as const;

export const cleanupRuleSchema = z
  .strictObject({
    table: tableName,
    dateColumn: identifier,
    dateFormat: z.enum(DATE_FORMATS).optional(),
    retentionDays: z.number().int().min(1).max(36500),
    action: z.enum(['delete', 'archive']),
    where: z.array(whereClause).max(20).default([]),
    /** Archive destination schema (same server); default: the source table's schema. */
    archiveSchema: identifier.optional(),
    /** Create a missing archiveSchema (with the source schema's character set and collation); otherwise a missing one refuses the rule. */
    createArchiveSchema: z.boolean().optional(),
    /** Archive table name; default `<table>_archive`. */
    archiveTable: identifier.optional(),
    /** Allow a rule whose date column has no usable index (every chunk then scans). */
    allowFullScan: z.boolean().default(false),
    /** How chunks are cut: by primary-key ranges, by the date index, or chosen per run from the data. */
    walk: z.enum(WALKS).default('auto'),
    chunkTimeSeconds: z.number().min(0.05).max(10).optional(),
    /** Delete rules only: go ahead over ON DELETE CASCADE / SET NULL child tables, counting the child rows each chunk removes or changes. */
    cascade: z.boolean().optional(),
    /** A RANGE-partitioned table: keep `ahead` future partitions of one `interval` each (lib/retention/partition-runway.ts). */
    partitioning: z.strictObject({ interval: z.enum(['day', 'week', 'month']), ahead: z.number().int().min(1).max(400) }).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.cascade && r.action === 'archive') {
      ctx.addIssue({ code: 'custom', path: ['cascade'], message: 'is for delete rules only: an archive rule never cascades (it is refused over ON DELETE CASCADE / SET NULL children)' });
    }
  });

/** archive-orders: completed orders older than `daysOld` move to the archive. */
export const archiveOrdersSchema = z.strictObject({
  table: tableName.default('orders'),
  dateColumn: identifier.default('completed_at'),
  dateFormat: z.enum(DATE_FORMATS).optional(),
  statusColumn: identifier.default('status'),
  completedValues: z.array(z.union([z.string().max(64), z.number()])).min(1).max(20).default(['completed']),
  daysOld: z.number().int().min(1).max(36500).default(365),
  archiveSchema: identifier.optional(),
  createArchiveSchema: z.boolean().optional(),
  archiveTable: identifier.optional(),
  walk: z.enum(WALKS).default('auto'),
});

/** Chunking and throttling of purges and archives (pt-archiver / gh-ost style). */
export const purgeSettingsSchema = z.strictObject({
  /** Target duration of one chunk's transaction; chunk sizes adapt to it (pt-online-schema-change --chunk-time). */
  chunkTimeSeconds: z.number().min(0.05).max(10).default(0.5),
  /** Chunk duration while the server shows row-lock waits: how long the application may wait for us. */
  contendedChunkTimeSeconds: z.number().min(0.001).max(10).default(0.005),
  /** While the application is live, rest this fraction of each chunk's time after it (gh-ost --nice-ratio). */
  niceRatio: z.number().min(0).max(100).default(0.05),
  initialChunkRows: z.number().int().min(1).max(1_000_000).default(5000),
  minChunkRows: z.number().int().min(1).max(1_000_000).default(100),
  maxChunkRows: z.number().int().min(1).max(1_000_000).default(250_000),
  /**
   * Bytes one chunk may move at most, from the rows' size (sampled, and table statistics): the first chunk and every
   * later one stay under it, below minChunkRows too. 16 MiB: about chunkTimeSeconds (0.5 s) at the ~35 MB/s a chunk of
   * large rows moves, one binlog transaction a replica applies at once, far under redo and group-replication limits.
   */
  maxChunkBytes: z.number().int().min(65_536).max(1_073_741_824).default(16 * 1024 * 1024),
  /** Pause while the server's Threads_running is above this. */
  maxThreadsRunning: z.number().int().min(1).max(100_000).default(40),
  /** Pause while replica lag (Aurora replicas, or the replicas listed on the target) is above this. */
  maxReplicaLagSeconds: z.number().min(0).max(86_400).default(30),
  /** Dry runs count exactly up to this many rows, then estimate (and say so). */
  dryRunExactCountLimit: z.number().int().min(0).default(1_000_000),
  /** Read each chunk's boundary on a second connection while the previous chunk runs (one more connection per purge). */
  prefetchBoundaries: z.boolean().default(true),
  /**
   * Chunks in flight at once while the application is not writing: 2 runs every other chunk on one more connection
   * (a third, beside the boundary reader); at the first sign of the application the walk goes back to one. 1: never.
   */
  idleWalkers: z.number().int().min(1).max(2).default(2),
  /** With `walk: auto`, walk primary-key ranges when at least this share of the rows in the key range match. */
  pkWalkMinMatchRatio: z.number().min(0).max(1).default(0.3),
  /** Stop a cleanup/archive run after this long even when Lambda would allow more (the payload may lower it). */
  maxRunSeconds: z.number().int().min(1).max(900).optional(),
  /**
   * Rows one cleanup or archive invocation moves at most (all its rules together); it then stops with work left, and a
   * routine with window time left invokes it again (docs/windows.md). Unset: only the time budget bounds an invocation.
   */
  maxRowsPerRun: z.number().int().min(1).max(1_000_000_000).optional(),
  /** Drop or exchange whole expired partitions of RANGE-partitioned tables before the row walk; false: the row engine does all. */
  partitionPath: z.boolean().default(true),
  /** lock_wait_timeout of a DROP PARTITION: how long the application may queue behind its metadata lock request. */
  partitionLockWaitSeconds: z.number().int().min(1).max(60).default(2),
});

/** A routine's maintenance window: from its scheduled start, how long its steps may keep invoking again (docs/windows.md). */
const windowSchema = z.strictObject({
  hours: z.number().min(0.25).max(20),
});


const thresholdFields = {
  fragmentationPercent: z.number().min(1).max(100),
  optimizeMinSizeMb: z.number().min(0),
  analyzeAfterDays: z.number().min(0).max(3650),
  /** Analyze a table once this share of its rows changed since its statistics (InnoDB's modification counter). */
  analyzeModifiedPercent: z.number().min(0.1).max(100),
  /** MySQL before 8.0.24: a table read by a statement running this long is not analyzed (ANALYZE would stall every later query on it). */
  analyzeBehindQuerySeconds: z.number().int().min(1).max(86_400),
};
const DEFAULT_THRESHOLDS = { fragmentationPercent: 30, optimizeMinSizeMb: 100, analyzeAfterDays: 7, analyzeModifiedPercent: 5, analyzeBehindQuerySeconds: 5 };
const thresholdsSchema = z.strictObject({
  fragmentationPercent: thresholdFields.fragmentationPercent.default(DEFAULT_THRESHOLDS.fragmentationPercent),
  optimizeMinSizeMb: thresholdFields.optimizeMinSizeMb.default(DEFAULT_THRESHOLDS.optimizeMinSizeMb),
  analyzeAfterDays: thresholdFields.analyzeAfterDays.default(DEFAULT_THRESHOLDS.analyzeAfterDays),
  analyzeModifiedPercent: thresholdFields.analyzeModifiedPercent.default(DEFAULT_THRESHOLDS.analyzeModifiedPercent),
  analyzeBehindQuerySeconds: thresholdFields.analyzeBehindQuerySeconds.default(DEFAULT_THRESHOLDS.analyzeBehindQuerySeconds),
});
/** Per-target overrides: no defaults here, or an empty override would reset the global values. */
const thresholdOverridesSchema = z.strictObject({
  fragmentationPercent: thresholdFields.fragmentationPercent.optional(),
  optimizeMinSizeMb: thresholdFields.optimizeMinSizeMb.optional(),
  analyzeAfterDays: thresholdFields.analyzeAfterDays.optional(),
  analyzeModifiedPercent: thresholdFields.analyzeModifiedPercent.optional(),
  analyzeBehindQuerySeconds: thresholdFields.analyzeBehindQuerySeconds.optional(),
});

/** collect-statistics: where snapshots go and how trends are computed. */
export const statisticsSettingsSchema = z.strictObject({
  /** Schema of the history tables (created if missing); default: the run log's schema. */
  historySchema: identifier.optional(),
  /** Least-squares window for growth rates. */
  growthWindowDays: z.number().int().min(2).max(3650).default(30),
  /** A trend needs snapshots spanning at least this long; before that the result says "not enough history". */
  minHistoryHours: z.number().min(1).max(8760).default(20),
  /** Snapshots older than this are deleted by the collect run. */
  historyRetentionDays: z.number().int().min(7).max(36500).default(400),
  /** Exact COUNT(*) for tables whose row estimate is at most this (0: estimates only). */
  exactCountMaxRows: z.number().int().min(0).max(100_000_000).default(0),
  /** Per-table metrics only for this many largest tables (metric cardinality is billed). */
  metricTables: z.number().int().min(0).max(200).default(10),
  /** "Top growers" listed in the result and reports. */
  topGrowers: z.number().int().min(0).max(100).default(5),
});

/** recommendations: thresholds of each check (fragmentation, size floor and statistics age come from `thresholds`). */
export const recommendationSettingsSchema = z.strictObject({
  largeTableGb: z.number().positive().max(100_000).default(1),
  rapidGrowthMbPerDay: z.number().positive().max(10_000_000).default(100),
  /** Days to the storage limit below which capacity is a high-priority item. */
  storageHorizonDays: z.number().int().min(1).max(3650).default(30),
  autoIncrementPercent: z.number().min(1).max(100).default(75),
  connectionsWarningPercent: z.number().min(1).max(100).default(80),
  connectionsCriticalPercent: z.number().min(1).max(100).default(95),
  slowQueryWarningSeconds: z.number().positive().max(86_400).default(2),
  slowQueryCriticalSeconds: z.number().positive().max(86_400).default(5),
  /** A retention rule's table holding rows this many days past its cutoff: the purge is falling behind. */
  purgeBehindDays: z.number().min(0).max(3650).default(2),
  /** The server advisor's rates come from two status samples this far apart (lib/recommend/checks/advisor.ts). */
  advisorSampleSeconds: z.number().min(0.5).max(120).default(5),
  /** BUFFER_POOL_TOO_SMALL: share of page reads that went to disk over the sample, with a pool smaller than the data. */
  bufferPoolMissPercent: z.number().min(0.01).max(100).default(1),
  /** TMP_TABLES_TO_DISK: share of implicit temporary tables created on disk over the sample. */
  tmpDiskPercent: z.number().min(1).max(100).default(25),
  /** TABLE_CACHE_MISSES: tables opened over the sample, with the table cache full. */
  tableCacheMissesPerInterval: z.number().int().min(1).max(1_000_000).default(20),
  /** THREAD_CACHE_MISSES: share of ≥ 20 new connections over the sample that needed a new thread. */
  threadCacheMissPercent: z.number().min(1).max(100).default(50),
  /** SORT_MERGE_PASSES: merge passes over the sample. */
  sortMergePassesPerInterval: z.number().int().min(1).max(1_000_000).default(10),
  /** LONG_TRANSACTION: a transaction open at least this long. */
  longTransactionSeconds: z.number().int().min(1).max(86_400).default(300),
  /** REDO_LOG_TOO_SMALL: the redo log should hold this many minutes of writes at the sampled rate. */
  redoLogMinutes: z.number().min(1).max(1440).default(60),
  /** REPLICA_LAG: a configured replica (or Aurora reader) further behind than this. */
  replicaLagSeconds: z.number().min(1).max(86_400).default(300),
  /** UNUSED_INDEX: index usage counters count only after the server (and every replica) has run this long. */
  indexUsageMinUptimeHours: z.number().min(0).max(8760).default(24),
});

/** optimize-tables and rebuild-indexes: the online rebuild and its guards. */
export const optimizeSettingsSchema = z.strictObject({
  /** lock_wait_timeout for the ALTER: how long the application may queue behind its metadata lock request. */
  lockWaitTimeoutSeconds: z.number().int().min(1).max(300).default(3),
  /** Without metadata-lock visibility, a transaction open this long counts as possibly holding the table. */
  longTransactionSeconds: z.number().int().min(1).max(86_400).default(60),
  /** Rebuild rate assumed before earlier runs measured one (conservative). */
  defaultRebuildMbPerSecond: z.number().min(0.001).max(10_000).default(10),
  /** Allow LOCK=SHARED rebuilds (reads go on, writes wait) where LOCK=NONE is impossible, e.g. FULLTEXT indexes. */
  allowLockingRebuild: z.boolean().default(false),
  /** At most this many tables per optimize run. */
  maxTablesPerRun: z.number().int().min(1).max(10_000).default(50),
  /** optimize-tables leaves a table alone for this many days after rebuilding it (a table whose file preallocation reads as free space would otherwise be rebuilt every night for nothing). */
  minDaysBetweenRebuilds: z.number().min(0).max(365).default(7),
});

/** Tasks and routines: either may be disabled or given its own schedule per target. */
const taskIdSchema = z.enum([...TASK_IDS, ...ROUTINE_IDS] as [string, ...string[]]);

const taskSettingsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  schedule: cronSpecSchema.optional(),
  /** Routines only: this target's maintenance window. */
  window: windowSchema.optional(),
});

const secretArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/,
    'must be a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)',
  );

const targetSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'must be 1-31 lowercase letters, digits or -, starting with a letter or digit'),
  secretArn,
  /**
   * The database server this target lives on, when several targets share one (two schemas of one RDS instance as two
   * targets): the fleet routine runs their routines one after another, never at the same time. Default: its own server.
   */
  server: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'must be 1-63 lowercase letters, digits, . or -, starting with a letter or digit')
    .optional(),
  /** Customer-managed KMS key of the secret, if any: decrypt is granted on it alone. */
  kmsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'must be a KMS key ARN').optional(),
  schemas: z.array(identifier).min(1).max(100),
  /** `auto`: TLS with the RDS CA bundle unless the host is local. */
  tls: z.enum(['auto', 'required', 'disabled']).default('auto'),
  excludeTables: z.array(tableName).max(1000).default([]),
  cleanupRules: z.array(cleanupRuleSchema).max(500).default([]),
  archiveOrders: archiveOrdersSchema.optional(),
  /** Replicas whose lag throttles purges: secrets of read-only users on them (SHOW REPLICA STATUS). */
  replicaSecretArns: z.array(secretArn).max(20).default([]),
  thresholds: thresholdOverridesSchema.optional(),
  /** Allocated storage of the instance, for capacity projections (days until the schemas reach it). */
  storageLimitGb: z.number().positive().max(1_000_000).optional(),
  /** Tables rebuilt by the weekly rebuild-indexes run (table or schema.table). */
  rebuildTables: z.array(tableName).max(1000).default([]),
  tasks: z.partialRecord(taskIdSchema, taskSettingsSchema).default({}),
});

const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export const configSchema = z
  .strictObject({
    /** Maintenance-window time zone (IANA). Schedules follow it, DST included. */
    timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin or UTC').default('UTC'),
    metricNamespace: z.string().regex(/^[A-Za-z0-9_./#:-]{1,255}$/, 'not a CloudWatch namespace').default('DbMaint'),
    network: z
      .strictObject({
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id (vpc-...)'),
        subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id (subnet-...)')).min(1),
        securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must be a security group id (sg-...)')).min(1),
      })
      .optional(),
    /** Lambda bundles: source maps cost cold-start time (docs/bundles.md); off, stack traces name minified functions. */
    bundling: z.strictObject({ sourceMap: z.boolean().default(false) }).default({ sourceMap: false }),
    logRetentionDays: z
      .number()
      .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(90),
    alarms: z
      .strictObject({
        email: z.array(z.email()).max(20).default([]),
        /** Alarm when MaxFragmentationPercent (tables over the optimize floor) reaches this. */
        fragmentationPercent: z.number().min(1).max(100).default(50),
        /** Alarm when GrowthBytesPerDay exceeds this many MB. */
        growthMbPerDay: z.number().positive().default(1024),
        /** Alarm when DaysToStorageLimit falls below this. */
        daysToStorageLimit: z.number().positive().default(14),
        /** Alarm when a table's RowsRemaining has not shrunk over this many consecutive daily runs. */
        purgeBehindRuns: z.number().int().min(2).max(30).default(3),
        /** Alarm when a partitioned rule's table has fewer future partitions than this (MinPartitionsAhead). */
        partitionsAheadBelow: z.number().int().min(1).max(400).default(2),
      })
      .default({ email: [], fragmentationPercent: 50, growthMbPerDay: 1024, daysToStorageLimit: 14, purgeBehindRuns: 3, partitionsAheadBelow: 2 }),
    session: z
      .strictObject({
        lockWaitTimeoutSeconds: z.number().int().min(1).max(3600).default(5),
        innodbLockWaitTimeoutSeconds: z.number().int().min(1).max(3600).default(5),
        connectTimeoutSeconds: z.number().int().min(1).max(60).default(10),
      })
      .default({ lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 10 }),
    runLog: z
      .strictObject({
        enabled: z.boolean().default(true),
        schema: identifier.default('dbmaint'),
        table: identifier.default('command_log'),
      })
      .default({ enabled: true, schema: 'dbmaint', table: 'command_log' }),
    thresholds: thresholdsSchema.default(DEFAULT_THRESHOLDS),
    purge: purgeSettingsSchema.default(purgeSettingsSchema.parse({})),
    statistics: statisticsSettingsSchema.default(statisticsSettingsSchema.parse({})),
    optimize: optimizeSettingsSchema.default(optimizeSettingsSchema.parse({})),
    recommendations: recommendationSettingsSchema.default(recommendationSettingsSchema.parse({})),
    reports: z
      .strictObject({
        from: z.email(),
        to: z.array(z.email()).min(1).max(50),
        sendMaintenanceReports: z.boolean().default(true),
        sendMaintenanceAlerts: z.boolean().default(true),
        sendWeeklyReports: z.boolean().default(true),
        /** The same alert condition is mailed at most once per this many hours. */
        alertPeriodHours: z.number().min(1).max(24 * 90).default(24),
        /** Recommendations listed in the daily report. */
        topRecommendations: z.number().int().min(0).max(100).default(10),
      })
      .optional(),
    fleet: fleetSchema.default(DEFAULT_FLEET),
    /**
     * The long runner (docs/long-runner.md): an ECS Fargate task the routine starts for tables whose estimated rebuild does
     * not fit one Lambda invocation, with the window's remaining time as its budget. Needs `network`.
     */
    longRunner: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** pt-online-schema-change: a chunked copy throttled on Threads_running and replica lag; alter: the in-place ALTER without Lambda's 15 minutes. */
        engine: z.enum(['alter', 'pt-online-schema-change']).default('pt-online-schema-change'),
        cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]).default(1024),
        memoryMiB: z.number().int().min(512).max(30_720).default(2048),
      })
      .default({ enabled: false, engine: 'pt-online-schema-change', cpu: 1024, memoryMiB: 2048 }),
    /** Maintenance windows per routine for every target (a target's tasks.<routine>.window overrides); default: the catalogue's. */
    windows: z.partialRecord(z.enum(ROUTINE_IDS as [string, ...string[]]), windowSchema).default({}),
    targets: z.array(targetSchema).min(1).max(500),
  })
  // Only what every reader of a configuration needs. The checks `cdk synth` (and the CLI) add on top: lib/config/checks.ts.
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
    });
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
