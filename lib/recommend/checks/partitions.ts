// Partition checks: a large table with a retention rule that partitioning by its date would turn into metadata changes (PARTITION_CANDIDATE), and a partitioned table running out of future partitions (PARTITION_RUNWAY).
import { qualifiedName, quoteIdentifier } from '../../db/identifiers';
import { planRunway } from '../../retention/partition-runway';
import { readPartitions } from '../../retention/partitions';
import { dayOf, nextBound, type Interval } from '../../retention/partition-bounds';
import { DAY_MS, GIB, gib, item, tableKey, type Check } from '../check';
import type { Recommendation } from '../types';

/** Partitions of about a day for short retention, a week up to two years, a month beyond: a few hundred partitions at most. */
function intervalFor(retentionDays: number): Interval {
  return retentionDays <= 120 ? 'day' : retentionDays <= 730 ? 'week' : 'month';
}

/**
 * The ALTER that partitions the table by RANGE on the rule's date column: one partition for everything before the cutoff's
 * day, one per interval up to tomorrow's, and an empty MAXVALUE partition that the runway splits (`partitioning`).
 */
function partitionStatement(schema: string, table: string, column: string, dataType: string, pk: readonly string[], cutoff: Date, now: Date, interval: Interval): string {
  const fn = dataType === 'timestamp' ? 'UNIX_TIMESTAMP' : 'TO_DAYS';
  const bound = (d: Date) => `${fn}('${dayOf(d)}${fn === 'UNIX_TIMESTAMP' ? ' 00:00:00' : ''}')`;
  const start = new Date(Date.UTC(cutoff.getUTCFullYear(), cutoff.getUTCMonth(), interval === 'month' ? 1 : cutoff.getUTCDate()));
  const end = nextBound(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())), 'day');
  const parts = [`PARTITION p_before VALUES LESS THAN (${bound(start)})`];
  for (let d = start; d.getTime() <= end.getTime() && parts.length < 400; d = nextBound(d, interval)) {
    parts.push(`PARTITION p${dayOf(d).replace(/-/g, '')} VALUES LESS THAN (${bound(nextBound(d, interval))})`);
  }
  parts.push('PARTITION pmax VALUES LESS THAN MAXVALUE');
  // Partition options follow the alter options without a comma.
  const key = pk.includes(column) ? [] : [`DROP PRIMARY KEY, ADD PRIMARY KEY (${[...pk, column].map(quoteIdentifier).join(', ')}) `];
  return `ALTER TABLE ${qualifiedName(schema, table)} ${key.join('')}PARTITION BY RANGE (${fn}(${quoteIdentifier(column)})) (${parts.join(', ')})`;
}

export const partitionCandidates: Check = {
  code: 'PARTITION_CANDIDATE',
  async run(ctx) {
    const rules = ctx.opts.retentionRules.filter((r) => r.where.length === 0);
    if (rules.length === 0) return { items: [] };
    const sizes = new Map((await ctx.sizes()).map((t) => [tableKey(t.schema, t.table), t]));
    const indexes = await ctx.indexes();
    const floor = ctx.opts.settings.largeTableGb * GIB;
    const items: Recommendation[] = [];
    for (const rule of rules) {
      const t = sizes.get(tableKey(rule.schema, rule.table));
      if (!t || t.totalBytes < floor || (t.engine ?? '').toLowerCase() !== 'innodb') continue;
      if ((await readPartitions(ctx.db, rule.schema, rule.table)).length > 0) continue;
      const [col] = await ctx.db.query<{ dataType: string }>('SELECT DATA_TYPE AS dataType FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [rule.schema, rule.table, rule.dateColumn]);
      if (!col || !['date', 'datetime', 'timestamp'].includes(col.dataType.toLowerCase())) continue;
      const [fk] = await ctx.db.query<{ n: number }>(
        'SELECT COUNT(*) AS n FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE (CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?) OR (UNIQUE_CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?)',
        [rule.schema, rule.table, rule.schema, rule.table],
      );
      // InnoDB partitioned tables take no foreign keys, in either direction.
      if (Number(fk?.n) > 0) continue;
      const defs = indexes.get(tableKey(rule.schema, rule.table))?.indexes ?? [];
      const pk = (defs.find((i) => i.primary)?.columns ?? []).flatMap((c) => (c.name ? [c.name] : []));
      if (pk.length === 0) continue;
      // Every unique key must hold the partitioning column: a unique secondary key without it rules partitioning out.
      if (defs.some((i) => i.unique && !i.primary && !i.columns.some((c) => c.name === rule.dateColumn))) continue;
      const interval = intervalFor(rule.retentionDays);
      const cutoff = new Date(ctx.opts.now.getTime() - rule.retentionDays * DAY_MS);
      const rate = ctx.opts.rebuild?.rate.bytesPerSecond;
      const oneTime = rate ? Math.round(t.totalBytes / rate) : null;
      const pkChange = !pk.includes(rule.dateColumn);
      items.push(
        item(
          'PARTITION_CANDIDATE',
          'medium',
          `${rule.schema}.${rule.table}`,
          `${rule.schema}.${rule.table} (${gib(t.totalBytes)}) is purged row by row by its ${rule.action} rule on ${rule.dateColumn}; partitioned by ${interval} on it, each expired ${interval} would go as one metadata change${pkChange ? ` (the primary key must then include ${rule.dateColumn})` : ''}; the change rebuilds the table once${oneTime !== null ? `, about ${oneTime.toLocaleString('en')} s` : ''}`,
          { totalBytes: t.totalBytes, rowsEstimate: t.rowsEstimate, dateColumn: rule.dateColumn, interval, primaryKeyChange: pkChange, oneTimeRebuildSeconds: oneTime },
          `${partitionStatement(rule.schema, rule.table, rule.dateColumn, col.dataType.toLowerCase(), pk, cutoff, ctx.opts.now, interval)}  — online with pt-online-schema-change (--alter "…"), then set the rule's "partitioning": {"interval": "${interval}", "ahead": 7}`,
        ),
      );
    }
    return { items };
  },
};

export const partitionRunway: Check = {
  code: 'PARTITION_RUNWAY',
  async run(ctx) {
    const items: Recommendation[] = [];
    for (const rule of ctx.opts.retentionRules) {
      const parts = await readPartitions(ctx.db, rule.schema, rule.table);
      if (parts.length === 0 || !parts[0]!.method.startsWith('RANGE')) continue;
      const hasMax = parts.some((p) => p.description === 'MAXVALUE');
      // Without `partitioning`, judge one day ahead: a table without MAXVALUE and no partition for tomorrow fails inserts then.
      const plan = await planRunway(ctx.db, { ...rule, partitioning: rule.partitioning ?? { interval: 'day', ahead: 1 } }, parts, ctx.opts.now);
      const floor = ctx.opts.partitionsAheadBelow ?? 2;
      if (plan.problem && !plan.statement) continue; // an expression the runway does not read: nothing to say with certainty
      const short = rule.partitioning ? plan.ahead < floor : !hasMax && plan.ahead < 1;
      if (!short) continue;
      items.push(
        item(
          'PARTITION_RUNWAY',
          hasMax ? 'medium' : 'high',
          `${rule.schema}.${rule.table}`,
          `${rule.schema}.${rule.table} has ${plan.ahead} future partition(s)${rule.partitioning ? ` (the rule keeps ${rule.partitioning.ahead}, the alarm fires below ${floor})` : ''}${hasMax ? ': new rows pile up in the MAXVALUE partition' : ': an insert beyond its last partition fails'}${plan.problem ? `; ${plan.problem.split(';')[0]}` : ''}`,
          { partitionsAhead: plan.ahead, maxvalue: hasMax, configured: rule.partitioning !== undefined },
          plan.statement ?? `set the rule's "partitioning": {"interval": "day", "ahead": 7}`,
        ),
      );
    }
    return { items };
  },
};
