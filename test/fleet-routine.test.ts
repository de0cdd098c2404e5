// The fleet routines' synthesized ASL, executed by an ASL interpreter over 500 targets: never more routines in flight than
// fleet.maxRoutinesInFlight, never two on one server, every target once, a failed target recorded and the rest run.
import { createRequire } from 'node:module';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RUN_TARGET_STATE } from '../infra/constructs/fleet-routine';
import { ROUTINES } from '../lib/catalogue';
import { parseConfig } from '../lib/config/load';
import { MAX_BATCHES_PER_ROUTINE, routineBatches } from '../lib/config/routine-batches';
import { definitionFromTemplate, interpretStateMachine, STATE_PAYLOAD_QUOTA_BYTES } from './support/routine-interpreter';
import { synthStack } from './support/synth';

const IN_FLIGHT = 10;
const arn = (name: string) => `arn:aws:secretsmanager:eu-central-1:123456789012:secret:dbmaint/${name}-AbCdEf`;
/** Targets 0-99 two to a server (db-0 … db-49), the rest on servers of their own; 480-499 run the daily routine at 02:30. */
const targets = Array.from({ length: 500 }, (_, i) => ({
  name: `fleet-${i}`,
  secretArn: arn(`fleet-${i}`),
  schemas: ['app'],
  ...(i < 100 ? { server: `db-${i >> 1}` } : {}),
  ...(i >= 480 ? { tasks: { 'daily-maintenance': { schedule: { minute: '30', hour: '2' } } } } : {}),
}));
const input = { targets, fleet: { maxRoutinesInFlight: IN_FLIGHT, secretAccess: { mode: 'name-prefix', prefix: 'dbmaint/' } } };
const config = parseConfig(input);
const serverOf = new Map(config.targets.map((t) => [t.name, t.server ?? t.name]));
const stack = synthStack(input, { targetsPerNestedStack: 50 });
const template = Template.fromStack(stack);
const validateAsl = createRequire(import.meta.url)('asl-validator') as (def: unknown, opts?: { checkPaths?: boolean; checkArn?: boolean }) => { isValid: boolean; errors: unknown[] };

/** Serves RunTargetRoutine: counts routines in flight (in all and per server); each holds until the fleet's bound is reached. */
function fakeChildren(failing: ReadonlySet<string> = new Set()) {
  let inFlight = 0;
  let maxInFlight = 0;
  const perServer = new Map<string, number>();
  let maxPerServer = 0;
  const ran: string[] = [];
  const handler = async (event: unknown) => {
    const target = (event as { Input: { target: string } }).Input.target;
    const server = serverOf.get(target)!;
    ran.push(target);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    perServer.set(server, (perServer.get(server) ?? 0) + 1);
    maxPerServer = Math.max(maxPerServer, perServer.get(server)!);
    // Hold until as many are in flight as the bound allows (the interpreter starts them without I/O, so a few turns
    // of the event loop suffice), so that a bound that were looser would show.
    for (let i = 0; i < 200 && inFlight < IN_FLIGHT; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    inFlight--;
    perServer.set(server, perServer.get(server)! - 1);
    if (failing.has(target)) throw Object.assign(new Error(`routine of ${target} failed`), { name: 'States.TaskFailed' });
    return { Status: 'SUCCEEDED', Output: '{}', ExecutionArn: `arn:aws:states:eu-central-1:123456789012:execution:x:${target}` };
  };
  return { handler, stats: () => ({ maxInFlight, maxPerServer, ran }) };
}

describe.each(ROUTINES.map((r) => r.id))('%s across 500 targets', (id) => {
  const routine = ROUTINES.find((r) => r.id === id)!;
  const definition = definitionFromTemplate(template, `dbmaint-${id}-fleet`);
  const batches = routineBatches(config, routine);

  it('passes asl-validator', () => {
    const out = validateAsl(definition, { checkPaths: true, checkArn: true });
    expect(out.errors).toEqual([]);
  });

  it('has one schedule per batch, which starts the fleet execution with the batch id', () => {
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')).filter((s) =>
      String((s as { Properties: { Name: string } }).Properties.Name).startsWith(`dbmaint-${id}-b`),
    ) as { Properties: { Target: { Input: string }; FlexibleTimeWindow: { Mode: string } } }[];
    expect(schedules.map((s) => JSON.parse(s.Properties.Target.Input) as unknown)).toEqual(batches.map((b) => ({ batch: b.id })));
    for (const s of schedules) expect(s.Properties.FlexibleTimeWindow.Mode).toBe('FLEXIBLE');
  });

  it(`runs every target of every batch once: at most ${IN_FLIGHT} in flight, one per server; a failing target is recorded and the others run`, async () => {
    const all: string[] = [];
    for (const batch of batches) {
      const expected = batch.servers.flatMap((g) => g.targets);
      const failing = new Set([expected[3]!]);
      const children = fakeChildren(failing);
      const exec = await interpretStateMachine(definition, { batch: batch.id }, { [RUN_TARGET_STATE]: children.handler }, { stateMachineName: `dbmaint-${id}-fleet` });
      expect(exec.violations).toEqual([]);
      expect(exec.status).toBe('succeeded');
      const { maxInFlight, maxPerServer, ran } = children.stats();
      expect([...ran].sort()).toEqual([...expected].sort());
      expect(maxInFlight).toBe(Math.min(IN_FLIGHT, batch.servers.length));
      expect(maxPerServer).toBe(1);
      const results = (exec.output as { results: { target: string; status: string }[] }).results;
      expect(results.filter((r) => r.status === 'FAILED').map((r) => r.target)).toEqual([...failing]);
      expect(results.filter((r) => r.status === 'SUCCEEDED').length).toBe(expected.length - 1);
      expect(exec.maxStateBytes).toBeLessThan(STATE_PAYLOAD_QUOTA_BYTES / 4);
      process.stderr.write(`${id} ${batch.id}: ${expected.length} targets on ${batch.servers.length} servers, at most ${maxInFlight} in flight; largest state ${exec.maxStateBytes} bytes (${exec.maxStateName})\n`);
      all.push(...expected);
    }
    // Daily: 480 targets at 04:00 and 20 at 02:30; weekly: one batch of 500.
    expect(all.length).toBe(500);
    expect(batches.length).toBe(id === 'daily-maintenance' ? 2 : 1);
  });

  it('fails on a batch no schedule passes, starting no routine', async () => {
    const children = fakeChildren();
    const exec = await interpretStateMachine(definition, { batch: 'b99' }, { [RUN_TARGET_STATE]: children.handler });
    expect(exec.status).toBe('failed');
    expect(exec.error).toMatch(/UnknownBatch|no such batch/);
    expect(children.stats().ran).toEqual([]);
  });
});

describe('targets and routine schedules', () => {
  it('leaves no routine schedule per target: the nested stacks schedule only the tasks that run on their own', () => {
    for (const nested of stack.targetStacks) {
      const names = Object.values(Template.fromStack(nested).findResources('AWS::Scheduler::Schedule')).map((s) => String((s as { Properties: { Name: string } }).Properties.Name));
      expect(names.filter((n) => ROUTINES.some((r) => n.endsWith(`-${r.id}`)))).toEqual([]);
    }
  });

  it('groups targets by schedule, then by server; leaves out a target whose routine is disabled', () => {
    const cfg = parseConfig({
      targets: [
        { name: 'a', secretArn: arn('a'), schemas: ['x'], server: 'db-1' },
        { name: 'b', secretArn: arn('b'), schemas: ['x'], server: 'db-1' },
        { name: 'c', secretArn: arn('c'), schemas: ['x'] },
        { name: 'd', secretArn: arn('d'), schemas: ['x'], tasks: { 'weekly-maintenance': { enabled: false } } },
      ],
    });
    const weekly = ROUTINES.find((r) => r.id === 'weekly-maintenance')!;
    expect(routineBatches(cfg, weekly)).toEqual([
      { id: 'b0', cron: weekly.schedule, custom: false, servers: [{ server: 'db-1', targets: ['a', 'b'] }, { server: 'target:c', targets: ['c'] }] },
    ]);
  });

  it(`refuses more than ${MAX_BATCHES_PER_ROUTINE} distinct schedules for one routine, naming the target's schedule`, () => {
    const many = Array.from({ length: MAX_BATCHES_PER_ROUTINE + 1 }, (_, i) => ({
      name: `t-${i}`,
      secretArn: arn(`t-${i}`),
      schemas: ['x'],
      tasks: { 'daily-maintenance': { schedule: { minute: String(i), hour: '3' } } },
    }));
    expect(() => parseConfig({ targets: many })).toThrow(new RegExp(`targets\\[${MAX_BATCHES_PER_ROUTINE}\\]\\.tasks\\.daily-maintenance\\.schedule.*at most ${MAX_BATCHES_PER_ROUTINE}`));
  });
});
