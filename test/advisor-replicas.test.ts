// The advisor across nodes: a real MariaDB replica of a primary (binary log, replication threads, delayed apply), index usage merged over both, the binary-log retention on a self-managed server and with RDS's own configuration table.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalMariaDb, type LocalMariaDb } from '../dev/mariadb-server';
import { lambdaContext } from '../dev/lambda-context';
import { handler } from '../functions/recommendations';
import { useDependencies } from '../functions/lambda-handler';
import { openSession, type DbSession } from '../lib/db/connection';
import { credentialsFromUrl, type CredentialSource, type DbCredentials } from '../lib/db/credentials';
import { EmfMetricsPublisher } from '../lib/metrics/emf';
import type { ReplicaNode } from '../lib/recommend/check';
import { generateRecommendations } from '../lib/recommend/generate';
import { recommendOptions } from './support/recommend-options';
import type { Recommendation, RecommendationsResult } from '../lib/recommend/types';
import { LocalMailbox } from '../lib/reporting/mail/local-mailbox';
import { silentLog } from '../lib/runtime/log';
import { testConfig, testTarget } from './support/db';

const S = 'replicas_t';
let primary: LocalMariaDb;
let replica: LocalMariaDb;
let p: mysql.Connection;
let r: mysql.Connection;
let replicaSession: DbSession;
const sessions: DbSession[] = [];

const connect = (url: string, database?: string) => {
  const c = credentialsFromUrl(url);
  return mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password, multipleStatements: true, ...(database ? { database } : {}) });
};
const open = async (url: string) => {
  const s = await openSession(credentialsFromUrl(url), { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 }, 'disabled');
  sessions.push(s);
  return s;
};

/** The replica has applied everything the primary has written so far. */
async function caughtUp(): Promise<void> {
  const [[pos]] = (await p.query('SELECT @@gtid_binlog_pos AS g')) as unknown as [[{ g: string }]];
  await r.query('SELECT MASTER_GTID_WAIT(?, 30)', [pos.g]);
}

async function advise(replicas: readonly ReplicaNode[], settings: Record<string, number> = {}): Promise<RecommendationsResult> {
  const cfg = testConfig([S], { recommendations: { advisorSampleSeconds: 0.5, indexUsageMinUptimeHours: 0, replicaLagSeconds: 1, ...settings } });
  const db = await open(primary.url);
  const opts = recommendOptions(S, cfg, { replicas: async () => replicas });
  return generateRecommendations(db, opts);
}
const of = (res: RecommendationsResult, code: string): Recommendation[] => res.items.filter((i) => i.code === code);
const statusOf = (res: RecommendationsResult, code: string) => res.checks.find((c) => c.code === code);

beforeAll(async () => {
  const ps = ['--performance-schema=ON'];
  primary = await startLocalMariaDb({ extraArgs: [...ps, '--log-bin', '--server-id=1', '--binlog-format=ROW'] });
  replica = await startLocalMariaDb({ extraArgs: [...ps, '--server-id=2', '--read-only=0'] });
  p = await connect(primary.url);
  r = await connect(replica.url);
  const pc = credentialsFromUrl(primary.url);
  const [[pos]] = (await p.query('SELECT @@gtid_binlog_pos AS g')) as unknown as [[{ g: string }]];
  await r.query(`SET GLOBAL gtid_slave_pos = ?`, [pos.g]);
  await r.query(`CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${pc.port}, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos`, [pc.user, pc.password]);
  await r.query('START SLAVE');
  await p.query(`CREATE DATABASE ${S}; USE ${S};
    CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL, b INT NOT NULL, c INT NOT NULL, KEY ix_a (a), KEY ix_b (b), KEY ix_c (c)) ENGINE=InnoDB;
    INSERT INTO t SELECT seq, seq, seq, seq FROM seq_1_to_1000;`);
  await caughtUp();
  // The writer's traffic reads ix_a; the reporting traffic on the replica reads ix_b; nothing reads ix_c.
  await p.query(`SELECT COUNT(*) FROM ${S}.t FORCE INDEX (ix_a) WHERE a < 100`);
  await r.query(`SELECT COUNT(*) FROM ${S}.t FORCE INDEX (ix_b) WHERE b < 100`);
  replicaSession = await open(replica.url);
}, 180_000);
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
  await r?.end();
  await p?.end();
  await replica?.stop();
  await primary?.stop();
});

describe('unused indexes across nodes', () => {
  it('an index read only on the replica is in use: with the replica merged only ix_c is unused', async () => {
    const alone = of(await advise([]), 'UNUSED_INDEX').map((i) => i.object);
    expect(alone.sort()).toEqual([`${S}.t.ix_b`, `${S}.t.ix_c`]);
    const merged = of(await advise([{ name: 'reporting-replica', session: replicaSession }]), 'UNUSED_INDEX');
    expect(merged.map((i) => i.object)).toEqual([`${S}.t.ix_c`]);
    expect(merged[0]!.evidence).toMatchObject({ nodes: 'writer, reporting-replica' });
    expect(merged[0]!.message).toMatch(/nor on the replica/);
  }, 60_000);

  it('calls no index unused while a replica cannot be read, or before the counters cover the configured uptime', async () => {
    const res = await advise([{ name: 'gone-replica', error: 'connect ECONNREFUSED 127.0.0.1:1' }]);
    expect(of(res, 'UNUSED_INDEX')).toEqual([]);
    expect(statusOf(res, 'UNUSED_INDEX')).toMatchObject({ status: 'skipped', note: expect.stringMatching(/^replica gone-replica could not be reached \(connect ECONNREFUSED/) });
    const young = await advise([], { indexUsageMinUptimeHours: 24 });
    expect(statusOf(young, 'UNUSED_INDEX')).toMatchObject({ status: 'skipped', note: expect.stringMatching(/started [\d.]+ hours ago: index usage counters cover too little time \(recommendations.indexUsageMinUptimeHours\)/) });
  }, 60_000);
});

describe('replica lag', () => {
  it('says nothing of a replica that keeps up, names a stopped SQL thread (high) and a replica unreachable', async () => {
    await caughtUp();
    const node = { name: 'reporting-replica', session: replicaSession };
    expect(of(await advise([node]), 'REPLICA_LAG')).toEqual([]);
    await r.query('STOP SLAVE SQL_THREAD');
    try {
      const [stopped] = of(await advise([node, { name: 'gone-replica', error: 'connect ECONNREFUSED 127.0.0.1:1' }]), 'REPLICA_LAG');
      expect(stopped).toMatchObject({ priority: 'high', object: 'replica reporting-replica', evidence: { replicating: false, sqlRunning: 'No', ioRunning: 'Yes' } });
      expect(stopped!.fix).toMatch(/START SLAVE; — RDS: CALL mysql.rds_start_replication;$/);
      const all = of(await advise([node, { name: 'gone-replica', error: 'connect ECONNREFUSED 127.0.0.1:1' }]), 'REPLICA_LAG');
      expect(all.map((i) => i.object)).toEqual(['replica reporting-replica', 'replica gone-replica']);
      expect(all[1]).toMatchObject({ evidence: { reachable: false } });
    } finally {
      await r.query('START SLAVE SQL_THREAD');
    }
  }, 60_000);

  it('measures the lag of a delayed replica against replicaLagSeconds', async () => {
    await caughtUp();
    await r.query('STOP SLAVE');
    await r.query('CHANGE MASTER TO MASTER_DELAY = 120');
    await r.query('START SLAVE');
    try {
      await p.query(`INSERT INTO ${S}.t VALUES (5001, 1, 1, 1)`);
      // The event waits out the delay on the replica; its lag only grows.
      let lagItem: Recommendation | undefined;
      for (let i = 0; i < 40 && !lagItem; i++) {
        await new Promise((res) => setTimeout(res, 500));
        lagItem = of(await advise([{ name: 'reporting-replica', session: replicaSession }], { replicaLagSeconds: 2 }), 'REPLICA_LAG')[0];
      }
      expect(lagItem).toMatchObject({ priority: 'medium', object: 'replica reporting-replica', evidence: { thresholdSeconds: 2, source: 'Seconds_Behind_Source' } });
      expect(Number(lagItem!.evidence['lagSeconds'])).toBeGreaterThan(2);
      expect(lagItem!.message).toMatch(/the retention engine pauses while lag is above purge.maxReplicaLagSeconds/);
    } finally {
      await r.query('STOP SLAVE');
      await r.query('CHANGE MASTER TO MASTER_DELAY = 0');
      await r.query('START SLAVE');
    }
  }, 60_000);
});

describe('binary log retention', () => {
  it('never-expiring binary logs (medium), a few hours (low), a day or more (none)', async () => {
    const [[before]] = (await p.query('SELECT @@binlog_expire_logs_seconds AS s')) as unknown as [[{ s: number }]];
    try {
      await p.query('SET GLOBAL binlog_expire_logs_seconds = 0');
      expect(of(await advise([]), 'BINLOG_RETENTION')).toEqual([expect.objectContaining({ priority: 'medium', evidence: expect.objectContaining({ binlogExpireSeconds: 0 }), fix: expect.stringMatching(/^SET GLOBAL binlog_expire_logs_seconds = 604800;/) })]);
      await p.query('SET GLOBAL binlog_expire_logs_seconds = 3600');
      expect(of(await advise([]), 'BINLOG_RETENTION')).toEqual([expect.objectContaining({ priority: 'low', message: expect.stringMatching(/kept only 1 hours/) })]);
      await p.query('SET GLOBAL binlog_expire_logs_seconds = 172800');
      expect(of(await advise([]), 'BINLOG_RETENTION')).toEqual([]);
    } finally {
      await p.query('SET GLOBAL binlog_expire_logs_seconds = ?', [Number(before.s)]);
    }
  }, 60_000);

  it("on RDS reads 'binlog retention hours' from mysql.rds_configuration (the table RDS keeps it in)", async () => {
    // RDS's own table, as RDS defines it, on a server that is otherwise self-managed: NULL is RDS's default.
    await p.query("SET sql_log_bin = 0; CREATE TABLE mysql.rds_configuration (name VARCHAR(100) NOT NULL PRIMARY KEY, value VARCHAR(100), description VARCHAR(300)); INSERT INTO mysql.rds_configuration VALUES ('binlog retention hours', NULL, 'binlog retention hours specifies the duration in hours before binary logs are automatically deleted.')");
    try {
      const [rds] = of(await advise([]), 'BINLOG_RETENTION');
      expect(rds).toMatchObject({ priority: 'low', evidence: { rds: true, binlogRetentionHours: null }, fix: "CALL mysql.rds_set_configuration('binlog retention hours', 24);" });
      await p.query("UPDATE mysql.rds_configuration SET value = '24'");
      expect(of(await advise([]), 'BINLOG_RETENTION')).toEqual([]);
    } finally {
      await p.query('DROP TABLE mysql.rds_configuration; SET sql_log_bin = 1');
    }
  }, 60_000);
});

describe('the recommendations task', () => {
  it("opens the target's replicaSecretArns, merges their index usage, reports an unreachable one, and closes them", async () => {
    const replicaArn = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:reporting-replica-AbCdEf';
    const goneArn = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:gone-replica-AbCdEf';
    const run = async (replicaSecretArns: string[]): Promise<RecommendationsResult> => {
      const config = testConfig([S], { targets: [testTarget([S], { replicaSecretArns })], recommendations: { advisorSampleSeconds: 0.5, indexUsageMinUptimeHours: 0 } });
      const byArn: Record<string, DbCredentials> = { [config.targets[0]!.secretArn]: credentialsFromUrl(primary.url), [replicaArn]: credentialsFromUrl(replica.url) };
      const credentials: CredentialSource = {
        async get(arn) {
          const c = byArn[arn];
          if (!c) throw new Error(`secret ${arn} not found`);
          return c;
        },
      };
      const restore = useDependencies({ config, credentials, metrics: new EmfMetricsPublisher(config.metricNamespace, () => undefined), log: silentLog, mailer: new LocalMailbox() });
      try {
        return (await handler({ target: 'test', dryRun: true }, lambdaContext('dbmaint-recommendations', 900_000))).result as RecommendationsResult;
      } finally {
        restore();
      }
    };
    const sessionsOnReplica = async () => Number(((await r.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'dbmaint'")) as unknown as [[{ n: number }]])[0][0].n);
    const before = await sessionsOnReplica();
    const merged = await run([replicaArn]);
    expect(of(merged, 'UNUSED_INDEX').map((i) => i.object)).toEqual([`${S}.t.ix_c`]);
    expect(of(merged, 'REPLICA_LAG')).toEqual([]);
    const withGone = await run([replicaArn, goneArn]);
    // No index called unused while one replica's usage is unknown; the unreachable replica named.
    expect(of(withGone, 'UNUSED_INDEX')).toEqual([]);
    expect(of(withGone, 'REPLICA_LAG')).toEqual([expect.objectContaining({ object: 'replica gone-replica-AbCdEf', message: expect.stringMatching(/could not be reached: secret .* not found/) })]);
    // The server drops a closed connection from its processlist a moment after the client quits: wait for it (a leaked
    // session never goes, and the assertion fails after 20 s).
    let after = await sessionsOnReplica();
    for (let i = 0; i < 200 && after !== before; i++) {
      await new Promise((res) => setTimeout(res, 100));
      after = await sessionsOnReplica();
    }
    expect(after).toBe(before);
  }, 60_000);
});
