// The `fleet` settings and the target limit: defaults, and every refusal naming its field and the fix.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config/load';
import { MAX_GRANT_POLICIES, planSecretGrants } from '../lib/config/secret-grants';
import { target } from './support/synth';
import { configErrorOf } from './support/config-errors';

const arn = (name: string, region = 'eu-central-1') => `arn:aws:secretsmanager:${region}:123456789012:secret:${name}`;
const fleetOf = (n: number, name: (i: number) => string) => Array.from({ length: n }, (_, i) => target(`db${i}`, { secretArn: arn(name(i)) }));

describe('fleet settings', () => {
  it('defaults to a 15-minute window, 10 routines in flight, no reserved concurrency and exact grants', () => {
    expect(parseConfig({ targets: [target('prod')] }).fleet).toEqual({ flexibleWindowMinutes: 15, maxRoutinesInFlight: 10, secretAccess: { mode: 'exact' } });
  });

  it('takes 1-40 routines in flight and refuses 0 and 41 with the field named', () => {
    expect(parseConfig({ targets: [target('prod')], fleet: { maxRoutinesInFlight: 40 } }).fleet.maxRoutinesInFlight).toBe(40);
    expect(configErrorOf({ targets: [target('prod')], fleet: { maxRoutinesInFlight: 41 } })).toMatch(/config\.fleet\.maxRoutinesInFlight: must be 1-40: an inline Map state runs at most 40 iterations/);
    expect(configErrorOf({ targets: [target('prod')], fleet: { maxRoutinesInFlight: 0 } })).toMatch(/config\.fleet\.maxRoutinesInFlight/);
  });

  it('takes a server label of lowercase letters, digits, dots and dashes, and refuses others with the target named', () => {
    expect(parseConfig({ targets: [{ ...target('prod'), server: 'prod-db-1.eu' }] }).targets[0]!.server).toBe('prod-db-1.eu');
    expect(configErrorOf({ targets: [{ ...target('prod'), server: 'Prod DB' }] })).toMatch(/config\.targets\[0\]\.server: must be 1-63 lowercase letters, digits, \. or -/);
  });

  it('accepts 500 targets and refuses 501', () => {
    expect(parseConfig({ targets: fleetOf(500, (i) => `db${i}-AbCdEf`) }).targets).toHaveLength(500);
    expect(configErrorOf({ targets: fleetOf(501, (i) => `db${i}-AbCdEf`) })).toMatch(/config\.targets: Too big: expected array to have <=500 items/);
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a window over an hour', { fleet: { flexibleWindowMinutes: 61 } }, /config\.fleet\.flexibleWindowMinutes: must be 0-60 minutes: the silence alarms allow one hour of slack/],
    ['reserved concurrency 0', { fleet: { reservedConcurrency: 0 } }, /config\.fleet\.reservedConcurrency: must be at least 1 \(0 would throttle every run; disable a task per target instead\)/],
    ['reserved concurrency of an unknown task', { fleet: { reservedConcurrency: { 'clean-up': 5 } } }, /config\.fleet\.reservedConcurrency/],
    ['a prefix ending mid-word', { fleet: { secretAccess: { mode: 'name-prefix', prefix: 'prod' } } }, /config\.fleet\.secretAccess\.prefix: must end with '\/', '-' or '_'/],
    ['a tag key AWS reserves', { fleet: { secretAccess: { mode: 'tag', key: 'aws:owner', value: 'x' } } }, /config\.fleet\.secretAccess\.key: must not start with 'aws:'/],
    ['an unknown grant mode', { fleet: { secretAccess: { mode: 'all' } } }, /config\.fleet\.secretAccess\.mode: /],
  ];
  it.each(cases)('refuses %s, naming the field', (_name, extra, message) => {
    expect(configErrorOf({ targets: [target('prod')], ...extra })).toMatch(message);
  });

  it('refuses a secret or replica outside the name prefix, naming it', () => {
    const message = configErrorOf({
      fleet: { secretAccess: { mode: 'name-prefix', prefix: 'dbmaint/' } },
      targets: [target('a', { secretArn: arn('dbmaint/a-AbCdEf') }), target('b', { secretArn: arn('dbmaint/b-AbCdEf'), replicaSecretArns: [arn('legacy/b-replica-AbCdEf')] }), target('c', { secretArn: arn('c-AbCdEf') })],
    });
    expect(message).toContain(
      "config.targets[1].replicaSecretArns[0]: secret name 'legacy/b-replica-AbCdEf' does not start with fleet.secretAccess.prefix 'dbmaint/': the functions could not read it",
    );
    expect(message).toContain("config.targets[2].secretArn: secret name 'c-AbCdEf' does not start with fleet.secretAccess.prefix 'dbmaint/'");
    expect(message).not.toContain('targets[0]');
  });

  it('refuses a KMS key in another region than its secret', () => {
    expect(configErrorOf({ targets: [target('a', { kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111' })] })).toContain(
      "config.targets[0].kmsKeyArn: is in us-east-1, the secret in eu-central-1: Secrets Manager encrypts a secret with a key in the secret's own region (for a multi-Region key, give its replica's ARN in eu-central-1)",
    );
  });

  it('refuses exact grants that would not fit the roles’ managed policies, and accepts the fleet by prefix', () => {
    // Secrets of realistic length (an environment, an engine, a cluster id): about 110 characters per ARN.
    const name = (i: number) => `production/mysql/cluster-${String(i).padStart(4, '0')}-7f3c9a2e-41b8-4d0e-9c5a/dbmaint-user-AbCdEf`;
    const message = configErrorOf({ targets: fleetOf(400, name) });
    expect(message).toMatch(
      /config\.fleet\.secretAccess: listing 400 secret ARNs and 0 KMS keys exactly needs \d+ managed policies of 6144 characters; a function role takes at most 7 beside its AWS-managed ones\. Grant by name prefix/,
    );
    const byPrefix = parseConfig({ targets: fleetOf(400, name), fleet: { secretAccess: { mode: 'name-prefix', prefix: 'production/mysql/' } } });
    expect(planSecretGrants(byPrefix, byPrefix.fleet.secretAccess)).toHaveLength(1);
    // The largest exact fleet of such names fits in MAX_GRANT_POLICIES policies.
    const fits = parseConfig({ targets: fleetOf(300, name) });
    expect(planSecretGrants(fits, fits.fleet.secretAccess).length).toBeLessThanOrEqual(MAX_GRANT_POLICIES);
  });
});
