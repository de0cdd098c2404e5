// Index checks: duplicate and redundant indexes from the catalogue, unused ones from performance_schema.
import { qualifiedName, quoteIdentifier } from '../../db/identifiers';
import { item, perRun, round, tableKey, uptimeText, type Check } from '../check';
import { columnList } from '../index-catalogue';
import { findRedundantIndexes, type IndexFinding } from '../index-redundancy';
import { globalStatus } from '../../db/global-status';
import { performanceSchemaReadable, performanceSchemaReadableOn } from '../server-status';
import type { DbSession } from '../../db/connection';
import type { Recommendation } from '../types';

type Located = IndexFinding & { readonly schema: string; readonly table: string; readonly engine: string | null };

/** Both index checks come from one comparison per table. */
const indexFindings = perRun(async (ctx): Promise<Located[]> => {
  const engines = new Map((await ctx.sizes()).map((t) => [tableKey(t.schema, t.table), t.engine]));
  const out: Located[] = [];
  for (const [k, t] of await ctx.indexes()) {
    // Views and other non-base tables have no entry in the sizes: nothing to drop there.
    if (!engines.has(k)) continue;
    const engine = engines.get(k) ?? null;
    for (const f of findRedundantIndexes(t, (engine ?? '').toLowerCase() === 'innodb')) out.push({ ...f, schema: t.schema, table: t.table, engine });
  }
  return out;
});

function dropIndex(f: Located): string {
  // Dropping a secondary index is metadata-only in InnoDB; other engines copy the table.
  const online = (f.engine ?? '').toLowerCase() === 'innodb' ? ', ALGORITHM=INPLACE, LOCK=NONE' : '';
  return `ALTER TABLE ${qualifiedName(f.schema, f.table)} DROP INDEX ${quoteIdentifier(f.index.name)}${online}`;
}

function evidence(f: Located): Recommendation['evidence'] {
  return {
    columns: columnList(f.index.columns),
    unique: f.index.unique,
    keptIndex: f.keeper.name,
    keptColumns: columnList(f.keeper.columns),
    reason: f.reason,
  };
}

export const duplicateIndexes: Check = {
  code: 'DUPLICATE_INDEX',
  async run(ctx) {
    return {
      items: (await indexFindings(ctx))
        .filter((f) => f.kind === 'duplicate')
        .map((f) =>
          item(
            'DUPLICATE_INDEX',
            'medium',
            `${f.schema}.${f.table}.${f.index.name}`,
            `${f.schema}.${f.table}: index ${f.index.name} (${columnList(f.index.columns)}) duplicates ${f.keeper.name}: every write maintains both`,
            evidence(f),
            dropIndex(f),
          ),
        ),
    };
  },
};

export const redundantIndexes: Check = {
  code: 'REDUNDANT_INDEX',
  async run(ctx) {
    return {
      items: (await indexFindings(ctx))
        .filter((f) => f.kind === 'redundant')
        .map((f) =>
          item(
            'REDUNDANT_INDEX',
            'low',
            `${f.schema}.${f.table}.${f.index.name}`,
            f.reason === 'primary-key-suffix'
              ? `${f.schema}.${f.table}: index ${f.index.name} (${columnList(f.index.columns)}) is ${f.keeper.name} plus the primary key, which InnoDB appends to every secondary index anyway`
              : `${f.schema}.${f.table}: index ${f.index.name} (${columnList(f.index.columns)}) is a left prefix of ${f.keeper.name} (${columnList(f.keeper.columns)}), which serves the same lookups`,
            evidence(f),
            dropIndex(f),
          ),
        ),
    };
  },
};

const USAGE_INSTRUMENT = 'wait/io/table/sql/handler';

/** Index usage counters that cover enough time: performance_schema readable, and up for the configured minimum. */
async function usageCountersReady(db: DbSession, node: string, minSeconds: number, readable: true | false | string): Promise<{ uptime: number } | { skipped: string }> {
  if (readable !== true) return { skipped: readable === false ? `performance_schema is off${node ? ` on ${node}` : ''}: unused indexes cannot be told` : `${node ? `${node}: ` : ''}${readable}` };
  const uptime = (await globalStatus(db, ['Uptime'])).get('Uptime') ?? 0;
  // Just after a restart every index is "unused": the counters need enough traffic (a day by default) to mean anything.
  if (uptime < minSeconds) return { skipped: `${node || 'the server'} started ${uptimeText(uptime)} ago: index usage counters cover too little time (recommendations.indexUsageMinUptimeHours)` };
  return { uptime };
}

/**
 * Indexes no query read since the counters began — on the writer and on every configured replica: an index that only
 * reader traffic uses is in use. A replica whose usage cannot be read stops the check (it might be the one reader).
 */
export const unusedIndexes: Check = {
  code: 'UNUSED_INDEX',
  async run(ctx) {
    const minSeconds = ctx.opts.settings.indexUsageMinUptimeHours * 3600;
    const writer = await usageCountersReady(ctx.db, '', minSeconds, await performanceSchemaReadable(ctx, USAGE_INSTRUMENT, 'global_instrumentation'));
    if ('skipped' in writer) return writer;
    const uptime = writer.uptime;
    const replicas = (await ctx.opts.replicas?.()) ?? [];
    if (ctx.db.flavour.kind === 'aurora-mysql' && replicas.length === 0) {
      const [r] = await ctx.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM information_schema.REPLICA_HOST_STATUS WHERE SESSION_ID <> 'MASTER_SESSION_ID'");
      if (Number(r?.n ?? 0) > 0) return { skipped: `${r!.n} Aurora reader(s) serve queries whose index use the writer cannot see: list their instance endpoints in replicaSecretArns` };
    }
    const usedElsewhere = new Set<string>();
    for (const node of replicas) {
      if (!node.session) return { skipped: `replica ${node.name} could not be reached (${node.error ?? 'unknown error'}): its index usage is unknown, so no index is called unused` };
      const ready = await usageCountersReady(node.session, `replica ${node.name}`, minSeconds, await performanceSchemaReadableOn(node.session, USAGE_INSTRUMENT, 'global_instrumentation'));
      if ('skipped' in ready) return ready;
      const used = await node.session.query<{ s: string; t: string; i: string }>(
        `SELECT OBJECT_SCHEMA AS s, OBJECT_NAME AS t, INDEX_NAME AS i
           FROM performance_schema.table_io_waits_summary_by_index_usage
          WHERE OBJECT_SCHEMA IN (?) AND INDEX_NAME IS NOT NULL AND COUNT_STAR > 0`,
        [ctx.opts.schemas],
      );
      for (const u of used) usedElsewhere.add(`${tableKey(u.s, u.t)}\u0000${u.i}`);
    }
    const nodes = ['writer', ...replicas.map((r) => r.name)];
    const rows = (
      await ctx.db.query<{ s: string; t: string; i: string }>(
        `SELECT OBJECT_SCHEMA AS s, OBJECT_NAME AS t, INDEX_NAME AS i
           FROM performance_schema.table_io_waits_summary_by_index_usage
          WHERE OBJECT_SCHEMA IN (?) AND INDEX_NAME IS NOT NULL AND INDEX_NAME <> 'PRIMARY' AND COUNT_STAR = 0`,
        [ctx.opts.schemas],
      )
    ).filter((r) => !usedElsewhere.has(`${tableKey(r.s, r.t)}\u0000${r.i}`));
    const catalogue = await ctx.indexes();
    const items: Recommendation[] = [];
    for (const r of rows) {
      const idx = catalogue.get(tableKey(r.s, r.t))?.indexes.find((i) => i.name === r.i);
      // A unique index is a constraint even when no query reads it; a dropped index may linger in the counters.
      if (!idx || idx.unique) continue;
      items.push(
        item(
          'UNUSED_INDEX',
          'low',
          `${r.s}.${r.t}.${r.i}`,
          `${r.s}.${r.t}: index ${r.i} (${columnList(idx.columns)}) has not been read since the server started ${uptimeText(uptime)} ago${replicas.length ? `, nor on ${replicas.length === 1 ? 'the replica' : `any of the ${replicas.length} replicas`}` : ''}`,
          {
            columns: columnList(idx.columns),
            nodes: nodes.join(', '),
            uptimeSeconds: uptime,
            uptimeDays: round(uptime / 86_400, 1),
            countedSince: new Date(ctx.opts.now.getTime() - uptime * 1000).toISOString(),
          },
          // Invisible first (MySQL 8) or ignored (MariaDB): reversible at once if a monthly job needed it after all.
          ctx.db.flavour.kind === 'mariadb'
            ? `ALTER TABLE ${qualifiedName(r.s, r.t)} ALTER INDEX ${quoteIdentifier(r.i)} IGNORED /* then, after a full business cycle: ALTER TABLE ${qualifiedName(r.s, r.t)} DROP INDEX ${quoteIdentifier(r.i)} */`
            : `ALTER TABLE ${qualifiedName(r.s, r.t)} ALTER INDEX ${quoteIdentifier(r.i)} INVISIBLE /* then, after a full business cycle: ALTER TABLE ${qualifiedName(r.s, r.t)} DROP INDEX ${quoteIdentifier(r.i)} */`,
        ),
      );
    }
    return { items };
  },
};
