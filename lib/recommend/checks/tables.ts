// Table-level checks from the measured sizes and the index catalogue: free space, size, counters, keys, engines, statistics age.
import { integerTypeMax } from '../../stats/auto-increment';
import { qualifiedName, quoteIdentifier } from '../../db/identifiers';
import type { TableSize } from '../../stats/sizes';
import { DAY_MS, GIB, item, mib, gib, round, tableKey, type Check } from '../check';
import { columnList } from '../index-catalogue';
import type { Recommendation } from '../types';

function name(t: { schema: string; table: string }): string {
  return `${t.schema}.${t.table}`;
}

function isInnoDb(t: TableSize): boolean {
  return (t.engine ?? '').toLowerCase() === 'innodb';
}

export const fragmentedTables: Check = {
  code: 'FRAGMENTED_TABLE',
  async run(ctx) {
    const { fragmentationPercent: limit, optimizeMinSizeMb } = ctx.opts.thresholds;
    const floor = optimizeMinSizeMb * 1024 * 1024;
    const items: Recommendation[] = [];
    let unjudged = 0;
    for (const t of await ctx.sizes()) {
      if (t.sharedTablespace || t.totalBytes < floor) continue;
      // Page counts from before a big change would invent (or hide) free space: such a table waits for its ANALYZE.
      if (t.statsStale) {
        unjudged++;
        continue;
      }
      const f = t.fragmentationPercent;
      if (f === null || f < limit) continue;
      const table = qualifiedName(t.schema, t.table);
      // FULLTEXT and SPATIAL indexes rule out LOCK=NONE; MyISAM and Aria have no in-place rebuild at all.
      const fix = !isInnoDb(t)
        ? `OPTIMIZE TABLE ${table} /* ${t.engine ?? 'this engine'}: locks the table while it runs */`
        : t.hasFulltextOrSpatial
          ? `ALTER TABLE ${table} FORCE, ALGORITHM=INPLACE, LOCK=SHARED /* FULLTEXT/SPATIAL index: writes wait during the rebuild */`
          : `ALTER TABLE ${table} FORCE, ALGORITHM=INPLACE, LOCK=NONE`;
      items.push(
        item(
          'FRAGMENTED_TABLE',
          f >= 2 * limit ? 'high' : 'medium',
          name(t),
          `${name(t)} is ${f}% free space (${mib(t.freeBytes)} of ${mib(t.totalBytes)}, by ${t.fragmentationBasis}): a rebuild gives it back`,
          {
            fragmentationPercent: f,
            freeBytes: t.freeBytes,
            totalBytes: t.totalBytes,
            basis: t.fragmentationBasis,
            thresholdPercent: limit,
            minSizeMb: optimizeMinSizeMb,
          },
          fix,
        ),
      );
    }
    return { items, ...(unjudged ? { note: `${unjudged} table(s) over the size floor have stale statistics: not judged until they are analyzed` } : {}) };
  },
};

export const largeTables: Check = {
  code: 'LARGE_TABLE',
  async run(ctx) {
    const limitGb = ctx.opts.settings.largeTableGb;
    const covered = new Set(ctx.opts.retentionRules.map((r) => tableKey(r.schema, r.table)));
    return {
      items: (await ctx.sizes())
        .filter((t) => t.totalBytes > limitGb * GIB)
        .map((t) => {
          const hasRule = covered.has(tableKey(t.schema, t.table));
          return item(
            'LARGE_TABLE',
            'low',
            name(t),
            `${name(t)} occupies ${gib(t.totalBytes)} (over ${limitGb} GiB)${hasRule ? '' : '; no cleanup rule covers it'}: consider retention, archiving or partitioning`,
            { totalBytes: t.totalBytes, dataBytes: t.dataBytes, indexBytes: t.indexBytes, rowsEstimate: t.rowsEstimate, thresholdGb: limitGb, cleanupRule: hasRule },
          );
        }),
    };
  },
};

/** The next wider type, keeping the sign: BIGINT UNSIGNED has nothing wider. */
function widerType(columnType: string): string | undefined {
  const unsigned = /\bunsigned\b/i.test(columnType);
  if (/^\s*bigint\b/i.test(columnType)) return unsigned ? undefined : 'BIGINT UNSIGNED';
  return unsigned ? 'BIGINT UNSIGNED' : 'BIGINT';
}

export const autoIncrementExhaustion: Check = {
  code: 'AUTO_INCREMENT_EXHAUSTION',
  async run(ctx) {
    const warn = ctx.opts.settings.autoIncrementPercent;
    const items: Recommendation[] = [];
    for (const t of await ctx.sizes()) {
      const a = t.autoIncrement;
      if (a?.usedPercent == null) continue;
      // 90% is urgent whatever the configured warning level: the counter is then months, not years, from its end.
      const priority = a.usedPercent >= 90 ? 'high' : a.usedPercent >= warn ? 'medium' : undefined;
      if (!priority) continue;
      const wider = widerType(a.columnType);
      const max = integerTypeMax(a.columnType);
      items.push(
        item(
          'AUTO_INCREMENT_EXHAUSTION',
          priority,
          name(t),
          `${name(t)}.${a.column} (${a.columnType}) has used ${a.usedPercent}% of its range${wider ? `: widen it to ${wider}` : ': BIGINT UNSIGNED cannot be widened, plan a new key'}`,
          { column: a.column, columnType: a.columnType, nextValue: a.next, maxValue: max !== undefined ? max.toString() : null, usedPercent: a.usedPercent, thresholdPercent: warn },
          wider
            ? `ALTER TABLE ${qualifiedName(t.schema, t.table)} MODIFY ${quoteIdentifier(a.column)} ${wider} NOT NULL AUTO_INCREMENT` +
                ' /* keep the other attributes of the column. A type change copies the table (writes wait), and referencing foreign key columns must change too */'
            : undefined,
        ),
      );
    }
    return { items };
  },
};

export const missingPrimaryKeys: Check = {
  code: 'NO_PRIMARY_KEY',
  async run(ctx) {
    const indexes = await ctx.indexes();
    const noPk = (await ctx.sizes()).filter((t) => isInnoDb(t) && !indexes.get(tableKey(t.schema, t.table))?.indexes.some((i) => i.primary));
    if (noPk.length === 0) return { items: [] };
    // A surrogate `id` is the usual fix, unless the table already has a column of that name.
    const idRows = await ctx.db.query<{ s: string; t: string }>(
      `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?) AND COLUMN_NAME = 'id'`,
      [[...new Set(noPk.map((t) => t.schema))]],
    );
    const hasId = new Set(idRows.map((r) => tableKey(r.s, r.t)));
    return {
      items: noPk.map((t) => {
        const table = qualifiedName(t.schema, t.table);
        // InnoDB clusters such a table on its first unique NOT NULL key, or else on a hidden 6-byte row id.
        const clustered = indexes
          .get(tableKey(t.schema, t.table))
          ?.indexes.filter((i) => i.unique && i.columns.every((c) => c.name !== null && !c.nullable && c.subPart === null))
          .sort((a, b) => a.columns.length - b.columns.length)[0];
        const fix = clustered
          ? `ALTER TABLE ${table} ADD PRIMARY KEY (${clustered.columns.map((c) => quoteIdentifier(c.name!)).join(', ')}), DROP INDEX ${quoteIdentifier(clustered.name)}, ALGORITHM=INPLACE, LOCK=NONE`
          : hasId.has(tableKey(t.schema, t.table))
            ? `/* if id is unique and never NULL: */\nALTER TABLE ${table} ADD PRIMARY KEY (${quoteIdentifier('id')}), ALGORITHM=INPLACE, LOCK=NONE`
            : `/* declare the natural key if the table has one, or add a surrogate (copies the table, writes wait): */\nALTER TABLE ${table} ADD COLUMN ${quoteIdentifier('id')} BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST`;
        return item(
          'NO_PRIMARY_KEY',
          'medium',
          name(t),
          clustered
            ? `${name(t)} has no primary key; InnoDB clusters it on unique key ${clustered.name} (${columnList(clustered.columns)}): declare that as the primary key`
            : `${name(t)} has no primary key: InnoDB clusters it on a hidden row id, row-based replicas search it by full scans, and purges cannot address its rows in chunks`,
          { engine: t.engine, rowsEstimate: t.rowsEstimate, clusteredOn: clustered?.name ?? null },
          fix,
        );
      }),
    };
  },
};

export const nonInnoDbTables: Check = {
  code: 'NON_INNODB_TABLE',
  async run(ctx) {
    return {
      items: (await ctx.sizes())
        .filter((t) => t.engine !== null && !isInnoDb(t))
        .map((t) => {
          const myisam = t.engine!.toLowerCase() === 'myisam';
          return item(
            'NON_INNODB_TABLE',
            myisam ? 'medium' : 'low',
            name(t),
            `${name(t)} uses ${t.engine}${myisam ? ': no transactions, table locks on every write, and no crash recovery' : ', not InnoDB'}`,
            { engine: t.engine, totalBytes: t.totalBytes, rowsEstimate: t.rowsEstimate },
            `ALTER TABLE ${qualifiedName(t.schema, t.table)} ENGINE=InnoDB /* copies the table, writes wait */`,
          );
        }),
    };
  },
};

export const staleStatistics: Check = {
  code: 'STALE_STATISTICS',
  async run(ctx) {
    // The sizes read treats an unreadable statistics table as "no statistics": here that would flag every table.
    await ctx.db.query('SELECT 1 FROM mysql.innodb_table_stats LIMIT 0');
    const [global] = await ctx.db.query<{ p: number | string }>('SELECT @@innodb_stats_persistent AS p');
    const persistentByDefault = ['1', 'ON'].includes(String(global?.p ?? '1').toUpperCase());
    const options = await ctx.db.query<{ s: string; t: string; o: string | null }>(
      `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, CREATE_OPTIONS AS o FROM information_schema.TABLES
        WHERE TABLE_SCHEMA IN (?) AND TABLE_TYPE = 'BASE TABLE' AND CREATE_OPTIONS LIKE '%stats_persistent%'`,
      [ctx.opts.schemas],
    );
    const persistent = new Map(options.map((r) => [tableKey(r.s, r.t), /stats_persistent=1/i.test(r.o ?? '') ? true : /stats_persistent=0/i.test(r.o ?? '') ? false : persistentByDefault]));
    const maxDays = ctx.opts.thresholds.analyzeAfterDays;
    const staleBefore = ctx.opts.now.getTime() - maxDays * DAY_MS;
    const items: Recommendation[] = [];
    for (const t of await ctx.sizes()) {
      // Transient statistics are recomputed by the server itself: there is no age to judge.
      if (!isInnoDb(t) || !(persistent.get(tableKey(t.schema, t.table)) ?? persistentByDefault)) continue;
      const at = t.statsUpdatedAt === null ? null : new Date(t.statsUpdatedAt).getTime();
      if (at !== null && at >= staleBefore) continue;
      const ageDays = at === null ? null : round((ctx.opts.now.getTime() - at) / DAY_MS, 1);
      items.push(
        item(
          'STALE_STATISTICS',
          'low',
          name(t),
          at === null
            ? `${name(t)} has no persistent statistics: the optimizer plans its queries on defaults`
            : `${name(t)} statistics are ${ageDays} days old (over ${maxDays})`,
          { statsUpdatedAt: t.statsUpdatedAt, ageDays, analyzeAfterDays: maxDays, rowsEstimate: t.rowsEstimate },
          `ANALYZE TABLE ${qualifiedName(t.schema, t.table)}`,
        ),
      );
    }
    return { items };
  },
};
