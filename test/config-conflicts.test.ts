// Configuration conflicts (issue 16, findings 5 and 10): excluded tables, two rules on one table and foreign schemas fail
// parsing and `cdk synth`, each message naming both paths.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config/load';
import { repoRoot, synthStack, target } from './support/synth';
import { configIssuesOf } from './support/config-errors';

const rule = (table: string, extra: Record<string, unknown> = {}) => ({ table, dateColumn: 'created_at', retentionDays: 30, action: 'delete', ...extra });
const shop = (extra: Record<string, unknown>) => ({ targets: [target('prod', { schemas: ['shop', 'crm'], ...extra })] });

describe('configuration conflicts', () => {
  const cases: [string, unknown, string[]][] = [
    [
      'a cleanup rule on an excluded table',
      shop({ excludeTables: ['events'], cleanupRules: [rule('sessions'), rule('events')] }),
      ['config.targets[0].cleanupRules[1].table: shop.events is excluded by targets[0].excludeTables[0] (events): excluded tables are never touched; remove it from one of the two'],
    ],
    [
      'an unqualified exclusion covers the table in every schema of the target',
      shop({ excludeTables: ['events'], cleanupRules: [rule('crm.events')] }),
      ['config.targets[0].cleanupRules[0].table: crm.events is excluded by targets[0].excludeTables[0] (events): excluded tables are never touched; remove it from one of the two'],
    ],
    [
      'the archiveOrders table excluded (its default name)',
      shop({ excludeTables: ['shop.orders'], archiveOrders: {} }),
      ['config.targets[0].archiveOrders.table: shop.orders is excluded by targets[0].excludeTables[0] (shop.orders): excluded tables are never touched; remove it from one of the two'],
    ],
    [
      'two cleanup rules on one table (unqualified = the first schema)',
      shop({ cleanupRules: [rule('shop.events'), rule('sessions'), rule('events', { retentionDays: 90 })] }),
      ['config.targets[0].cleanupRules[2].table: shop.events is also targets[0].cleanupRules[0].table: one retention rule per table (merge the two)'],
    ],
    [
      'a cleanup rule on the archiveOrders table',
      shop({ cleanupRules: [rule('sessions'), rule('orders', { action: 'archive' })], archiveOrders: { table: 'shop.orders' } }),
      ['config.targets[0].archiveOrders.table: shop.orders is also targets[0].cleanupRules[1].table: one retention rule per table (merge the two)'],
    ],
    [
      'an archive rule writing into its own table',
      shop({ cleanupRules: [rule('events', { action: 'archive', archiveTable: 'events' })] }),
      ['config.targets[0].cleanupRules[0].archiveTable: shop.events is the archive destination of its own rule (targets[0].cleanupRules[0].table): name another archiveTable'],
    ],
    [
      'an archive destination that is excluded',
      shop({ excludeTables: ['events_archive'], cleanupRules: [rule('events', { action: 'archive' })] }),
      ['config.targets[0].cleanupRules[0].archiveTable: shop.events_archive (the archive destination) is excluded by targets[0].excludeTables[0] (events_archive): excluded tables are never touched; remove it from one of the two'],
    ],
    [
      'a rebuild table that is excluded',
      shop({ excludeTables: ['crm.contacts'], rebuildTables: ['orders', 'contacts'] }),
      ['config.targets[0].rebuildTables[1]: contacts is excluded by targets[0].excludeTables[0] (crm.contacts): excluded tables are never touched; remove it from one of the two'],
    ],
    [
      'an exclusion in a foreign schema',
      shop({ excludeTables: ['billing.invoices'] }),
      ["config.targets[0].excludeTables[0]: schema 'billing' is not one of the target's schemas (shop, crm)"],
    ],
    [
      'an archiveOrders table in a foreign schema',
      shop({ archiveOrders: { table: 'billing.orders' } }),
      ["config.targets[0].archiveOrders.table: schema 'billing' is not one of the target's schemas (shop, crm)"],
    ],
  ];
  for (const [name, input, expected] of cases) {
    it(`refuses ${name}`, () => {
      expect(configIssuesOf(input)).toEqual(expected);
    });
  }

  it('accepts what only looks alike: the same name in two schemas, case differences, a rule on an archive table', () => {
    const cfg = parseConfig(
      shop({
        excludeTables: ['crm.audit'],
        cleanupRules: [rule('events'), rule('crm.events'), rule('Events'), rule('events_archive', { retentionDays: 3650 }), rule('shop.audit')],
        archiveOrders: { table: 'crm.orders' },
        rebuildTables: ['shop.audit'],
      }),
    );
    expect(cfg.targets[0]!.cleanupRules).toHaveLength(5);
  });

  it('names every conflict of every target, not just the first', () => {
    const input = {
      targets: [
        target('a', { excludeTables: ['t1'], cleanupRules: [rule('t1'), rule('t2'), rule('t2')] }),
        target('b', { cleanupRules: [rule('x')], archiveOrders: { table: 'x' } }),
      ],
    };
    expect(configIssuesOf(input).map((i) => i.split(':')[0])).toEqual([
      'config.targets[0].cleanupRules[0].table',
      'config.targets[0].cleanupRules[2].table',
      'config.targets[1].archiveOrders.table',
    ]);
  });

  it('fails synthesis of the stack (the library path)', () => {
    expect(() => synthStack({ targets: [target('prod', { excludeTables: ['events'], cleanupRules: [rule('events')] })] })).toThrow(
      /config\.targets\[0\]\.cleanupRules\[0\]\.table: app\.events is excluded by targets\[0\]\.excludeTables\[0\]/,
    );
  });

  it('fails `cdk synth` with both paths named', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-conflict-'));
    const file = path.join(dir, 'conflict.json');
    writeFileSync(file, JSON.stringify(shop({ cleanupRules: [rule('shop.events'), rule('events')] })));
    const out = spawnSync('npx', ['cdk', 'synth', '-q', '-c', `config=${file}`, '-o', path.join(dir, 'out')], { cwd: repoRoot, encoding: 'utf8' });
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain('config.targets[0].cleanupRules[1].table: shop.events is also targets[0].cleanupRules[0].table');
  });
});
