// Replication and binary-log checks: the configured replicas' lag and state (Aurora readers from the writer), and how long binary logs are kept.
import { errno } from '../../db/errors';
import { globalVariables } from '../../db/global-status';
import { replicaLagFromStatus, replicaStatus } from '../../retention/throttle';
import { errorText, item, round, type Check, type CheckOutcome } from '../check';
import type { Recommendation } from '../types';


const text = (row: Record<string, unknown>, ...names: string[]): string => {
  for (const n of names) if (row[n] !== undefined && row[n] !== null) return String(row[n]);
  return '';
};

function restartFix(kind: string): string {
  return kind === 'mariadb' ? 'START SLAVE; — RDS: CALL mysql.rds_start_replication;' : 'START REPLICA; — RDS: CALL mysql.rds_start_replication;';
}

/** Each configured replica: replication stopped (with the error), or lag over `replicaLagSeconds`; Aurora readers from REPLICA_HOST_STATUS. */
export const replicaLag: Check = {
  code: 'REPLICA_LAG',
  async run(ctx) {
    const limit = ctx.opts.settings.replicaLagSeconds;
    const nodes = (await ctx.opts.replicas?.()) ?? [];
    const items: Recommendation[] = [];
    if (ctx.db.flavour.kind === 'aurora-mysql') {
      const rows = await ctx.db.query<{ id: string; lagMs: number | null }>(
        `SELECT SERVER_ID AS id, REPLICA_LAG_IN_MILLISECONDS AS lagMs FROM information_schema.REPLICA_HOST_STATUS
          WHERE SESSION_ID <> 'MASTER_SESSION_ID' AND LAST_UPDATE_TIMESTAMP > NOW() - INTERVAL 5 MINUTE`,
      );
      for (const r of rows) {
        const lag = round(Number(r.lagMs ?? 0) / 1000, 1);
        if (lag > limit) items.push(lagItem(`Aurora reader ${r.id}`, lag, limit, 'Aurora reader lag (REPLICA_HOST_STATUS)'));
      }
    }
    if (nodes.length === 0 && ctx.db.flavour.kind !== 'aurora-mysql') return { items, note: 'no replicas configured (targets[].replicaSecretArns)' };
    for (const node of nodes) {
      if (!node.session) {
        items.push(item('REPLICA_LAG', 'medium', `replica ${node.name}`, `replica ${node.name} could not be reached: ${node.error ?? 'unknown error'}; its lag (and the retention engine's throttle on it) cannot be told`, { replica: node.name, reachable: false, error: node.error ?? null, restartNeeded: false, risk: 'none: a connection check' }, `check the secret, network path and grants of ${node.name} (REPLICATION CLIENT or REPLICA MONITOR, SELECT)`));
        continue;
      }
      const row = await replicaStatus(node.session);
      if (!row) {
        items.push(item('REPLICA_LAG', 'medium', `replica ${node.name}`, `${node.name} is configured as a replica but reports no replication (SHOW REPLICA STATUS is empty)`, { replica: node.name, reachable: true, replicating: false, restartNeeded: false, risk: 'none' }, `remove it from replicaSecretArns, or set up replication on it`));
        continue;
      }
      const lag = replicaLagFromStatus(row);
      const io = text(row, 'Replica_IO_Running', 'Slave_IO_Running');
      const sql = text(row, 'Replica_SQL_Running', 'Slave_SQL_Running');
      if (lag === null || io !== 'Yes' || sql !== 'Yes') {
        const error = text(row, 'Last_SQL_Error') || text(row, 'Last_IO_Error') || text(row, 'Last_Error');
        items.push(
          item(
            'REPLICA_LAG',
            'high',
            `replica ${node.name}`,
            `replication on ${node.name} is not running (IO thread ${io || '?'}, SQL thread ${sql || '?'})${error ? `: ${error.slice(0, 200)}` : ''}; the retention engine pauses while a replica is not replicating`,
            { replica: node.name, reachable: true, replicating: false, ioRunning: io, sqlRunning: sql, lastError: error ? error.slice(0, 300) : null, restartNeeded: false, risk: 'starting it again without fixing the error stops it again at the same event' },
            `/* after fixing the cause of the error above */ ${restartFix(node.session.flavour.kind)}`,
          ),
        );
        continue;
      }
      if (lag !== undefined && lag > limit) items.push(lagItem(`replica ${node.name}`, lag, limit, 'Seconds_Behind_Source'));
    }
    return { items };
  },
};

function lagItem(object: string, lag: number, limit: number, source: string): Recommendation {
  return item(
    'REPLICA_LAG',
    lag >= limit * 10 ? 'high' : 'medium',
    object,
    `${object} is ${lag.toLocaleString('en')} s behind (${source}), over the ${limit} s limit: reads there are stale, and the retention engine pauses while lag is above purge.maxReplicaLagSeconds`,
    { lagSeconds: lag, thresholdSeconds: limit, source, restartNeeded: false, risk: 'none to look; the cause is usually one large transaction, a missing primary key on the replica (row events scan), or a replica smaller than the writer' },
    'find what it applies: SHOW PROCESSLIST on the replica (the SQL thread\'s statement); large deletes belong in cleanup-data\'s chunks; on MySQL 8 raise replica_parallel_workers',
  );
}

const HOUR = 3600;

function retention(priority: Recommendation['priority'], message: string, evidence: Recommendation['evidence'], fix: string): CheckOutcome {
  return { items: [item('BINLOG_RETENTION', priority, 'server', message, evidence, fix)] };
}

/**
 * How long binary logs are kept: RDS/Aurora by `mysql.rds_configuration` ('binlog retention hours', NULL = removed as
 * soon as RDS may), self-managed servers by binlog_expire_logs_seconds / expire_logs_days (0 = never removed).
 */
export const binlogRetention: Check = {
  code: 'BINLOG_RETENTION',
  async run(ctx) {
    const [v] = await ctx.db.query<{ logBin: number }>('SELECT @@log_bin AS logBin');
    if (Number(v?.logBin) !== 1) return { items: [], note: 'binary logging is off' };
    let rdsHours: string | null | undefined;
    try {
      const [r] = await ctx.db.query<{ value: string | null }>("SELECT value FROM mysql.rds_configuration WHERE name = 'binlog retention hours'");
      rdsHours = r ? r.value : undefined;
    } catch (err) {
      // No such table: not RDS. Denied: RDS without the grant (the master user has it).
      if (errno(err) !== 1146 && errno(err) !== 1142) throw err;
      if (errno(err) === 1142) return { skipped: `${errorText(err)}: GRANT SELECT ON mysql.rds_configuration TO the maintenance user` };
    }
    if (rdsHours !== undefined) {
      if (rdsHours !== null && rdsHours !== '' && String(rdsHours).toUpperCase() !== 'NULL') return { items: [] };
      return retention('low', "'binlog retention hours' is NULL: RDS removes binary logs as soon as they are backed up, so an external replica or change-data-capture consumer (DMS, Debezium) that stops for a while loses its position and must be rebuilt", { rds: true, binlogRetentionHours: null, restartNeeded: false, risk: 'storage: binary logs of the retention period stay on the instance (RDS allows up to 168 hours)' }, "CALL mysql.rds_set_configuration('binlog retention hours', 24);");
    }
    const vars = await globalVariables(ctx.db, ['binlog_expire_logs_seconds', 'expire_logs_days']);
    const seconds = Math.max(vars.get('binlog_expire_logs_seconds') ?? 0, (vars.get('expire_logs_days') ?? 0) * 86_400);
    const set = ctx.db.flavour.kind === 'mariadb' ? 'SET GLOBAL binlog_expire_logs_seconds = 604800; /* and under [mysqld] in the option file */' : 'SET PERSIST binlog_expire_logs_seconds = 604800;';
    if (seconds === 0) {
      return retention('medium', 'binary logs are never removed (binlog_expire_logs_seconds and expire_logs_days are 0): they grow until the disk is full, and every purge dbmaint runs adds its deleted rows to them', { rds: false, binlogExpireSeconds: 0, restartNeeded: false, risk: 'a replica or backup that needs older binary logs than the new limit must have read them first' }, set);
    }
    if (seconds < 24 * HOUR) {
      return retention('low', `binary logs are kept only ${round(seconds / HOUR, 1)} hours: a replica stopped overnight cannot catch up`, { rds: false, binlogExpireSeconds: seconds, restartNeeded: false, risk: 'disk: a week of binary logs' }, set);
    }
    return { items: [] };
  },
};
