// The runway's plan without a server: weekly and monthly intervals, bounds by TO_DAYS, UNIX_TIMESTAMP and RANGE COLUMNS, and what it refuses.
import { describe, expect, it } from 'vitest';
import type { DbSession } from '../lib/db/connection';
import type { TablePartition } from '../lib/retention/partitions';
import { planRunway } from '../lib/retention/partition-runway';
import { expiredPartitions } from '../lib/retention/partitions';
import { rule } from './support/retention';

const toDays = (iso: string) => Math.floor(Date.parse(`${iso}T00:00:00Z`) / 86_400_000) + 719_528;
const part = (name: string, description: string, expression = 'to_days(`created_at`)', method = 'RANGE'): TablePartition => ({ name, method, expression, description, rowsEstimate: 0, subpartitioned: false });
/** No MAXVALUE partition in these: the plan asks the server nothing. */
const noServer = {} as DbSession;
const NOW = new Date('2026-12-03T12:00:00Z'); // a Thursday

describe('planRunway', () => {
  it('weekly: partitions of seven days from the last bound until `ahead` whole weeks after the current one (Monday to Monday)', async () => {
    const parts = [part('w1', String(toDays('2026-11-30')))]; // ends Monday 30 Nov
    const plan = await planRunway(noServer, rule('s', 't', { partitioning: { interval: 'week', ahead: 2 } }), parts, NOW);
    expect(plan.create.map((c) => [c.name, c.from])).toEqual([
      ['p20261130', '2026-11-30'],
      ['p20261207', '2026-12-07'],
      ['p20261214', '2026-12-14'],
    ]);
    expect(plan.create.at(-1)!.lessThan).toBe(String(toDays('2026-12-21')));
    expect(plan.ahead).toBe(0);
    expect(plan.aheadAfter).toBe(2);
    expect(plan.statement).toBe(`ALTER TABLE \`s\`.\`t\` ADD PARTITION (${plan.create.map((c) => `PARTITION \`${c.name}\` VALUES LESS THAN (${c.lessThan})`).join(', ')})`);
  });

  it('monthly, bounded by UNIX_TIMESTAMP: first-of-month bounds', async () => {
    const parts = [part('m1', String(Date.parse('2026-12-01T00:00:00Z') / 1000), 'unix_timestamp(`created_at`)')];
    const plan = await planRunway(noServer, rule('s', 't', { partitioning: { interval: 'month', ahead: 1 } }), parts, NOW);
    expect(plan.create.map((c) => [c.name, c.lessThan])).toEqual([
      ['p20261201', String(Date.parse('2027-01-01T00:00:00Z') / 1000)],
      ['p20270101', String(Date.parse('2027-02-01T00:00:00Z') / 1000)],
    ]);
    expect(plan.aheadAfter).toBe(1);
  });

  it('RANGE COLUMNS on the date: quoted day bounds; enough runway already: nothing to create', async () => {
    const parts = ['2026-12-04', '2026-12-05', '2026-12-06', '2026-12-07'].map((d, i) => part(`d${i}`, `'${d}'`, '`created_at`', 'RANGE COLUMNS'));
    const plan = await planRunway(noServer, rule('s', 't', { partitioning: { interval: 'day', ahead: 3 } }), parts, NOW);
    expect(plan.create).toEqual([]);
    expect(plan.ahead).toBe(3); // the partitions of 4, 5 and 6 December start at or after the current day's end
    const more = await planRunway(noServer, rule('s', 't', { partitioning: { interval: 'day', ahead: 5 } }), parts, NOW);
    expect(more.create.map((c) => c.lessThan)).toEqual(["'2026-12-08'", "'2026-12-09'"]);
  });

  it('refuses what it cannot read or must not touch, saying why', async () => {
    const r = rule('s', 't', { partitioning: { interval: 'day', ahead: 3 } });
    expect((await planRunway(noServer, r, [], NOW)).problem).toMatch(/^not partitioned/);
    expect((await planRunway(noServer, r, [part('h', '', 'id', 'HASH')], NOW)).problem).toMatch(/^HASH partitioning/);
    expect((await planRunway(noServer, r, [part('y', '2026', 'year(`created_at`)')], NOW)).problem).toMatch(/^partitioned by year\(`created_at`\)/);
    expect((await planRunway(noServer, r, [{ ...part('s', String(toDays('2026-12-04'))), subpartitioned: true }], NOW)).problem).toMatch(/sub-partitioned/);
  });
});

describe('expiredPartitions on MySQL 8 (no server here: the statements it sends)', () => {
  it('asks plain EXPLAIN on MySQL 8 (EXPLAIN PARTITIONS is MariaDB’s), and drops the partitions pruning excludes, never the last', async () => {
    const sent: string[] = [];
    const fake = (kind: 'mysql' | 'mariadb') =>
      ({
        flavour: { kind },
        query: async (sql: string) => {
          sent.push(sql);
          return sql.startsWith('EXPLAIN') ? [{ partitions: 'p3,pmax' }] : [];
        },
      }) as unknown as DbSession;
    const r = rule('s', 't', { retentionDays: 5 });
    const plan = { before: { sql: '`created_at` < ?', params: ['2026-11-28 12:00:00'] }, shape: { columns: [{ name: 'created_at', nullable: false }] } } as unknown as Parameters<typeof expiredPartitions>[2];
    const parts = [part('p1', String(toDays('2026-11-20'))), part('p2', String(toDays('2026-11-25'))), part('p3', String(toDays('2026-12-01'))), part('pmax', 'MAXVALUE')];
    const mysql8 = await expiredPartitions(fake('mysql'), r, plan, parts, new Date('2026-11-28T12:00:00Z'));
    expect(sent[0]).toBe('EXPLAIN SELECT 1 FROM `s`.`t` WHERE NOT (`created_at` < ?) OR `created_at` IS NULL');
    expect(mysql8.map((p) => p.name)).toEqual(['p1', 'p2']);
    sent.length = 0;
    await expiredPartitions(fake('mariadb'), r, plan, parts, new Date('2026-11-28T12:00:00Z'));
    expect(sent[0]).toMatch(/^EXPLAIN PARTITIONS SELECT 1 FROM `s`.`t` WHERE NOT/);
  });
});
