// Configuration validation: every invalid field is named by its path, in the library and through `cdk synth`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config/load';
import { thresholdsFor } from '../lib/config/schema';
import { repoRoot, target } from './support/synth';
import { configErrorOf } from './support/config-errors';

const valid = { targets: [target('prod')] };

describe('config validation', () => {
  it('accepts the example config and fills defaults', () => {
    const cfg = parseConfig(JSON.parse(readFileSync(path.join(repoRoot, 'config/example.json'), 'utf8')));
    expect(cfg.timeZone).toBe('Europe/Berlin');
    expect(cfg.targets).toHaveLength(2);
    expect(cfg.targets[0]!.cleanupRules[0]).toMatchObject({ table: 'django_session', action: 'delete', where: [], allowFullScan: false });
    expect(cfg.session.lockWaitTimeoutSeconds).toBe(5);
    expect(thresholdsFor(cfg, cfg.targets[1]!)).toEqual({ fragmentationPercent: 30, optimizeMinSizeMb: 100, analyzeAfterDays: 3, analyzeModifiedPercent: 5, analyzeBehindQuerySeconds: 5 });
    expect(thresholdsFor(cfg, cfg.targets[0]!).analyzeAfterDays).toBe(7);
  });

  const cases: [string, unknown, RegExp][] = [
    ['no targets', { targets: [] }, /config\.targets: /],
    ['unknown top-level field', { ...valid, extra: 1 }, /config: unknown field\(s\) 'extra'/],
    ['bad time zone', { ...valid, timeZone: 'Mars/Olympus' }, /config\.timeZone: must be an IANA time zone/],
    ['bad target name', { targets: [target('Prod DB')] }, /config\.targets\[0\]\.name: /],
    ['duplicate target', { targets: [target('a'), target('a')] }, /config\.targets\[1\]\.name: duplicate target name 'a'/],
    ['bad secret ARN', { targets: [target('a', { secretArn: 'prod-db' })] }, /config\.targets\[0\]\.secretArn: must be a Secrets Manager secret ARN/],
    ['hostile schema', { targets: [target('a', { schemas: ['app`; DROP'] })] }, /config\.targets\[0\]\.schemas\[0\]: must be 1-64 characters/],
    ['no schemas', { targets: [target('a', { schemas: [] })] }, /config\.targets\[0\]\.schemas: /],
    [
      'rule with unknown operator',
      { targets: [target('a', { cleanupRules: [{ table: 't', dateColumn: 'd', retentionDays: 3, action: 'delete', where: [{ column: 'c', op: 'LIKE', value: 'x' }] }] })] },
      /config\.targets\[0\]\.cleanupRules\[0\]\.where\[0\]\.op: /,
    ],
    [
      'rule with raw SQL',
      { targets: [target('a', { cleanupRules: [{ table: 't', dateColumn: 'd', retentionDays: 3, action: 'delete', sql: 'x=1' }] })] },
      /config\.targets\[0\]\.cleanupRules\[0\]: unknown field\(s\) 'sql'/,
    ],
    [
      'IN without a list',
      { targets: [target('a', { cleanupRules: [{ table: 't', dateColumn: 'd', retentionDays: 3, action: 'delete', where: [{ column: 'c', op: 'IN', value: 1 }] }] })] },
      /cleanupRules\[0\]\.where\[0\]\.value: must be a list for IN/,
    ],
    [
      'rule in a foreign schema',
      { targets: [target('a', { cleanupRules: [{ table: 'other.t', dateColumn: 'd', retentionDays: 3, action: 'archive' }] })] },
      /config\.targets\[0\]\.cleanupRules\[0\]\.table: schema 'other' is not one of the target's schemas/,
    ],
    [
      'cascade on an archive rule',
      { targets: [target('a', { cleanupRules: [{ table: 't', dateColumn: 'd', retentionDays: 3, action: 'archive', cascade: true }] })] },
      /config\.targets\[0\]\.cleanupRules\[0\]\.cascade: is for delete rules only/,
    ],
    ['unknown dateFormat', { targets: [target('a', { cleanupRules: [{ table: 't', dateColumn: 'd', retentionDays: 3, action: 'delete', dateFormat: 'dd/mm/yyyy' }] })] }, /cleanupRules\[0\]\.dateFormat: /],
    ['retention zero', { targets: [target('a', { cleanupRules: [{ table: 't', dateColumn: 'd', retentionDays: 0, action: 'delete' }] })] }, /retentionDays: /],
    ['bad threshold', { ...valid, thresholds: { fragmentationPercent: 140 } }, /config\.thresholds\.fragmentationPercent: /],
    ['bad retention', { ...valid, logRetentionDays: 10 }, /config\.logRetentionDays: must be one of/],
    ['bad subnet', { ...valid, network: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['sub-1'], securityGroupIds: ['sg-0123456789abcdef0'] } }, /config\.network\.subnetIds\[0\]: /],
    ['bad recipient', { ...valid, reports: { from: 'dbmaint@example.com', to: ['not-an-address'] } }, /config\.reports\.to\[0\]: /],
    ['unknown task in overrides', { targets: [target('a', { tasks: { 'drop-everything': { enabled: true } } })] }, /config\.targets\[0\]\.tasks/],
    ['bad cron field', { targets: [target('a', { tasks: { 'analyze-tables': { schedule: { minute: '0; rm', hour: '1' } } } })] }, /config\.targets\[0\]\.tasks\.analyze-tables\.schedule\.minute: /],
    ['bad routine schedule', { targets: [target('a', { tasks: { 'daily-maintenance': { schedule: { minute: '61 x', hour: '1' } } } })] }, /config\.targets\[0\]\.tasks\.daily-maintenance\.schedule\.minute: /],
    ['negative storage limit', { targets: [target('a', { storageLimitGb: -5 })] }, /config\.targets\[0\]\.storageLimitGb: /],
    ['rebuild table in a foreign schema', { targets: [target('a', { rebuildTables: ['other.orders'] })] }, /config\.targets\[0\]\.rebuildTables\[0\]: schema 'other'/],
    ['hostile rebuild table', { targets: [target('a', { rebuildTables: ['orders; DROP'] })] }, /config\.targets\[0\]\.rebuildTables\[0\]: /],
    ['bad modified percent', { ...valid, thresholds: { analyzeModifiedPercent: 0 } }, /config\.thresholds\.analyzeModifiedPercent: /],
    ['bad growth window', { ...valid, statistics: { growthWindowDays: 1 } }, /config\.statistics\.growthWindowDays: /],
    ['bad history schema', { ...valid, statistics: { historySchema: 'a b' } }, /config\.statistics\.historySchema: /],
    ['unknown statistics field', { ...valid, statistics: { windowDays: 3 } }, /config\.statistics: /],
    ['bad lock wait for rebuilds', { ...valid, optimize: { lockWaitTimeoutSeconds: 0 } }, /config\.optimize\.lockWaitTimeoutSeconds: /],
    ['bad rebuild rate', { ...valid, optimize: { defaultRebuildMbPerSecond: -1 } }, /config\.optimize\.defaultRebuildMbPerSecond: /],
    ['bad recommendation threshold', { ...valid, recommendations: { autoIncrementPercent: 150 } }, /config\.recommendations\.autoIncrementPercent: /],
    ['bad alarm threshold', { ...valid, alarms: { fragmentationPercent: 0 } }, /config\.alarms\.fragmentationPercent: /],
    ['bad purge-behind runs', { ...valid, alarms: { purgeBehindRuns: 1 } }, /config\.alarms\.purgeBehindRuns: /],
    ['bad alert period', { ...valid, reports: { from: 'dbmaint@example.com', to: ['a@example.com'], alertPeriodHours: 0 } }, /config\.reports\.alertPeriodHours: /],
  ];
  for (const [name, input, message] of cases) {
    it(`rejects ${name}`, () => {
      expect(configErrorOf(input)).toMatch(message);
    });
  }

  it('fails `cdk synth` with the field named', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-cfg-'));
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ targets: [target('prod', { schemas: ['app', 'bad name'] })] }));
    const out = spawnSync('npx', ['cdk', 'synth', '-q', '-c', `config=${file}`, '-o', path.join(dir, 'out')], { cwd: repoRoot, encoding: 'utf8' });
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/config\.targets\[0\]\.schemas\[1\]: must be 1-64 characters/);
  });
});
