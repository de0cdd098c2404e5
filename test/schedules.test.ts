// Schedules as EventBridge Scheduler reads them: the cron dialect, fire times, DST skips and repeats in every IANA zone, synth refusals.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { cronExpression, ROUTINES, TASKS, type CronSpec, type TaskDefinition } from '../lib/catalogue';
import { cronSpecIssues, formatLocal, localFireTimes, parseCronExpression, parseCronSpec } from '../lib/config/cron';
import { describeConflict, dstConflicts, unsteadyMinutesOfDay, zoneTransitions } from '../lib/config/dst';
import { parseConfig } from '../lib/config/load';
import { scheduleProblem, scheduleProblems, silenceHours } from '../lib/config/schedule-check';
import { repoRoot, synthStack, target } from './support/synth';
import { configErrorOf } from './support/config-errors';

const NOW = new Date('2026-12-02T12:00:00Z');
/** Defaults are checked over these years in every zone (tzdata as Node's ICU ships it). */
const FROM = Date.UTC(2026, 0, 1);
const TO = Date.UTC(2031, 0, 1);
const ZONES = Intl.supportedValuesOf('timeZone');

const withSchedule = (schedule: unknown, extra: Record<string, unknown> = {}) => ({ ...extra, targets: [target('prod', { tasks: { 'weekly-maintenance': { schedule } } })] });

const dates = (expression: string, year: number) => [...new Set([...localFireTimes(parseCronExpression(expression), year)].map((t) => formatLocal(t).slice(0, 10)))];

describe('cron dialect', () => {
  it('accepts what Scheduler accepts: ranges, lists, steps, names, L, W, #, years', () => {
    for (const e of [
      'cron(15 0/6 * * ? *)',
      'cron(0/15 * * * ? *)',
      'cron(*/1 * * * ? *)',
      'cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)', // verified against AWS in localstack/localstack#13572
      'cron(1-31/30 1-1 ? * 1,7 *)',
      'cron(30-30 13-13 ? * 2,4,6 *)',
      'cron(0 18 ? * MON-FRI *)',
      'cron(0 8 1 JAN,APR,JUL,OCT ? 2026-2030)',
      'cron(0 4 L * ? *)',
      'cron(0 4 LW * ? *)',
      'cron(0 4 15W * ? *)',
      'cron(0 4 ? * 6L *)',
      'cron(0 4 ? * 3#2 *)',
      'cron(0 4 ? * L *)',
      'cron(0 4 ? JAN/3 SUN *)',
    ]) {
      expect(() => parseCronExpression(e), e).not.toThrow();
    }
  });

  const refused: [CronSpec, string | undefined, RegExp][] = [
    [{ minute: '0', hour: '25' }, 'hour', /^25 is outside 0-23$/],
    [{ minute: '60', hour: '1' }, 'minute', /^60 is outside 0-59$/],
    [{ minute: '?', hour: '1' }, 'minute', /\? \(no specific value\) is accepted only in day and weekDay/],
    [{ minute: '0', hour: '1', day: '1', weekDay: 'MON' }, undefined, /day '1' and weekDay 'MON' are both set: Scheduler takes one of them and needs \? in the other/],
    [{ minute: '0', hour: '1', day: '*', weekDay: 'MON' }, undefined, /both set/],
    [{ minute: '0', hour: '1', day: '?' }, undefined, /day and weekDay are both \?: set one of them/],
    [{ minute: '0', hour: '1', weekDay: '8' }, 'weekDay', /^8 is outside 1-7 or SUN-SAT$/],
    [{ minute: '0', hour: '1', weekDay: '0' }, 'weekDay', /^0 is outside 1-7 or SUN-SAT$/],
    [{ minute: '0', hour: '1', day: '32' }, 'day', /^32 is outside 1-31$/],
    [{ minute: '0', hour: '1', month: '13' }, 'month', /^13 is outside 1-12 or JAN-DEC$/],
    [{ minute: '0', hour: '1', month: 'JANUARY' }, 'month', /'JANUARY' is not a number or a name/],
    [{ minute: '0', hour: '1', weekDay: 'mon' }, 'weekDay', /'mon' must be written in capitals \(MON\)/],
    [{ minute: '*/60', hour: '1' }, 'minute', /the step must be a whole number from 1 to 59/],
    [{ minute: '0/0', hour: '1' }, 'minute', /the step must be a whole number from 1 to 59/],
    [{ minute: '0', hour: '0/24' }, 'hour', /from 1 to 23/],
    [{ minute: '0', hour: '22-2' }, 'hour', /range '22-2' runs backwards; write it as 22-23,0-2/],
    [{ minute: '0', hour: '1', weekDay: 'FRI-MON' }, 'weekDay', /write it as FRI-SAT,SUN-MON/],
    [{ minute: '0', hour: '1', weekDay: 'MON/2' }, 'weekDay', /\/ \(increments\) is not accepted in weekDay/],
    [{ minute: '0', hour: '1', weekDay: '3#1,6#3' }, 'weekDay', /only one day#n may stand in the field/],
    [{ minute: '0', hour: '1', weekDay: '3#6' }, 'weekDay', /the occurrence after # must be 1-5/],
    [{ minute: '0', hour: '1', weekDay: '6L,2' }, 'weekDay', /L follows one day number/],
    [{ minute: '0', hour: '1', day: 'L,15' }, 'day', /L and W cannot be combined with other days/],
    [{ minute: '0', hour: '1', day: 'L-2' }, 'day', /is not L \(last day\), LW/],
    [{ minute: '0', hour: '1', day: '1-5W' }, 'day', /is not L \(last day\), LW/],
    [{ minute: '0', hour: '1,*' }, 'hour', /'\*' cannot be part of a list/],
    [{ minute: '1--2', hour: '1' }, 'minute', /is not a value, a range or a step/],
    [{ minute: '0', hour: '1', day: 'W' }, 'day', /is not L/],
  ];
  for (const [spec, field, message] of refused) {
    it(`refuses ${JSON.stringify(spec)}`, () => {
      const issues = cronSpecIssues(spec);
      expect(issues.length, JSON.stringify(issues)).toBeGreaterThan(0);
      expect(issues[0]!.field).toBe(field);
      expect(issues[0]!.message).toMatch(message);
    });
  }

  it('fails config validation with the config path of the field', () => {
    expect(configErrorOf(withSchedule({ minute: '0', hour: '25' }))).toContain('config.targets[0].tasks.weekly-maintenance.schedule.hour: 25 is outside 0-23');
    expect(configErrorOf(withSchedule({ minute: '?', hour: '1' }))).toContain('config.targets[0].tasks.weekly-maintenance.schedule.minute: ? (no specific value)');
    expect(configErrorOf(withSchedule({ minute: '0', hour: '1', day: '1', weekDay: 'SUN' }))).toContain(
      "config.targets[0].tasks.weekly-maintenance.schedule: day '1' and weekDay 'SUN' are both set",
    );
    expect(configErrorOf(withSchedule({ minute: '0', hour: '1', weekDay: '8' }))).toContain('config.targets[0].tasks.weekly-maintenance.schedule.weekDay: 8 is outside 1-7');
    // A field the character check already refused is reported once.
    expect(configErrorOf(withSchedule({ minute: '0; rm', hour: '1' })).match(/schedule\.minute/g)).toHaveLength(1);
  });

  it('lists fire dates as Quartz reads L, W and #', () => {
    expect(dates('cron(0 4 ? * 3#2 *)', 2027)).toEqual([
      '2027-01-12', '2027-02-09', '2027-03-09', '2027-04-13', '2027-05-11', '2027-06-08',
      '2027-07-13', '2027-08-10', '2027-09-14', '2027-10-12', '2027-11-09', '2027-12-14',
    ]);
    expect(dates('cron(0 4 L FEB ? *)', 2028)).toEqual(['2028-02-29']);
    // 2027-05-31 is a Monday, 2027-07-31 a Saturday (LW: Friday the 30th).
    expect(dates('cron(0 4 LW MAY,JUL ? *)', 2027)).toEqual(['2027-05-31', '2027-07-30']);
    // 1W on Saturday 2027-05-01 moves forward to Monday the 3rd (W never leaves the month); 15W on Sunday 2027-08-15 to Monday.
    expect(dates('cron(0 4 1W MAY ? *)', 2027)).toEqual(['2027-05-03']);
    expect(dates('cron(0 4 15W AUG ? *)', 2027)).toEqual(['2027-08-16']);
    expect(dates('cron(0 4 ? DEC 6L *)', 2027)).toEqual(['2027-12-31']);
    expect(dates('cron(0 4 ? FEB 5#5 *)', 2027)).toEqual([]);
    expect([...localFireTimes(parseCronExpression('cron(10-40/10 4/9 1 1 ? *)'), 2027)].map((t) => formatLocal(t).slice(11))).toEqual([
      '04:10', '04:20', '04:30', '04:40', '13:10', '13:20', '13:30', '13:40', '22:10', '22:20', '22:30', '22:40',
    ]);
  });
});

describe('clock changes', () => {
  it('finds the hour Europe/London skips and the one it repeats', () => {
    const conflicts = dstConflicts(parseCronExpression('cron(0 1 ? * SUN *)'), 'Europe/London', Date.UTC(2027, 0, 1), Date.UTC(2028, 0, 1));
    expect(conflicts.map((c) => [c.kind, formatLocal(c.local)])).toEqual([
      ['skipped', '2027-03-28 01:00'],
      ['repeated', '2027-10-31 01:00'],
    ]);
    expect(describeConflict(conflicts[0]!, 'Europe/London')).toBe(
      'clocks in Europe/London go from UTC+00:00 to UTC+01:00 at 2027-03-28T01:00:00Z, so local 01:00-01:59 do not exist on 2027-03-28',
    );
  });

  it('handles half-hour and 45-minute zones, changes at midnight, and zones without DST', () => {
    const year = [Date.UTC(2027, 0, 1), Date.UTC(2028, 0, 1)] as const;
    // Lord Howe moves by 30 minutes: 02:00-02:29 is skipped in October, 01:30-01:59 repeated in April.
    const lh = dstConflicts(parseCronExpression('cron(0/15 1-2 ? * SUN *)'), 'Australia/Lord_Howe', ...year);
    expect(lh.filter((c) => c.kind === 'skipped').map((c) => formatLocal(c.local))).toEqual(['2027-10-03 02:00', '2027-10-03 02:15']);
    expect(lh.filter((c) => c.kind === 'repeated').map((c) => formatLocal(c.local))).toEqual(['2027-04-04 01:30', '2027-04-04 01:45']);
    expect(dstConflicts(parseCronExpression('cron(0 3 * * ? *)'), 'Pacific/Chatham', ...year).map((c) => c.kind)).toEqual(['repeated', 'skipped']);
    // Havana springs forward at midnight: the 00:xx of that Sunday does not exist.
    expect(dstConflicts(parseCronExpression('cron(15 0 * * ? *)'), 'America/Havana', ...year).find((c) => c.kind === 'skipped')?.local).toMatchObject({ month: 3, hour: 0 });
    expect(zoneTransitions('Asia/Tokyo', ...year)).toEqual([]);
    expect(zoneTransitions('UTC', ...year)).toEqual([]);
  });

  it('keeps 04:00-20:59 clear of clock changes in every IANA zone, and no default schedule outside it', () => {
    const unsteady = new Set<number>();
    for (const zone of ZONES) for (const m of unsteadyMinutesOfDay(zone, FROM, TO)) unsteady.add(m);
    expect([...unsteady].filter((m) => m >= 4 * 60 && m < 21 * 60)).toEqual([]);
    // The night is not clear anywhere: EET zones change at 03:00-04:00, Easter Island at 21:00-23:00.
    expect(unsteady.has(3 * 60 + 30)).toBe(true);
    expect(unsteady.has(21 * 60 + 30)).toBe(true);
  });

  it('no default schedule falls in a local time that a clock change skips or repeats, in any IANA zone', () => {
    expect(ZONES.length).toBeGreaterThan(400);
    const defaults: [string, CronSpec][] = [
      ...(TASKS as readonly TaskDefinition[]).filter((t) => t.schedule).map((t) => [t.id, t.schedule!] as [string, CronSpec]),
      ...ROUTINES.map((r) => [r.id, r.schedule] as [string, CronSpec]),
    ];
    for (const [id, spec] of defaults) expect(cronSpecIssues(spec), id).toEqual([]);
    const found: string[] = [];
    for (const [id, spec] of defaults) {
      const cron = parseCronSpec(spec);
      for (const zone of ZONES) {
        const c = dstConflicts(cron, zone, FROM, TO)[0];
        if (c) found.push(`${id} ${cronExpression(spec)} ${c.kind} in ${zone}: ${describeConflict(c, zone)}`);
      }
    }
    expect(found).toEqual([]);
  });
});

describe('configured schedules at synth', () => {
  it('refuses a schedule the configured zone skips, naming the next date', () => {
    const cfg = parseConfig(withSchedule({ minute: '30', hour: '2', weekDay: 'SUN' }, { timeZone: 'Europe/Berlin' }));
    expect(scheduleProblems(cfg, NOW)).toEqual([
      'config.targets[0].tasks.weekly-maintenance.schedule: cron(30 2 ? * SUN *) would be skipped on 2027-03-28 02:30 (and 27 more time(s) in the next 28 years): ' +
        'clocks in Europe/Berlin go from UTC+01:00 to UTC+02:00 at 2027-03-28T01:00:00Z, so local 02:00-02:59 do not exist on 2027-03-28 ' +
        'and Scheduler skips a run whose local time does not exist; choose a time outside 02:00-02:59',
    ]);
    // The same spec in UTC, or at a time Berlin only repeats (Scheduler runs it once), is accepted.
    expect(scheduleProblems(parseConfig(withSchedule({ minute: '30', hour: '2', weekDay: 'SUN' })), NOW)).toEqual([]);
    expect(scheduleProblems(parseConfig(withSchedule({ minute: '30', hour: '2', day: '25', month: 'OCT' }, { timeZone: 'Europe/Berlin' })), NOW)).toEqual([]);
  });

  it('names a date years ahead when the skip is rare', () => {
    // 31 March is the last Sunday of March (Berlin's spring change) in 2030.
    const problem = scheduleProblem(parseCronSpec({ minute: '30', hour: '2', day: '31', month: 'MAR' }), 'Europe/Berlin', NOW);
    expect(problem).toMatch(/^cron\(30 2 31 MAR \? \*\) would be skipped on 2030-03-31 02:30 \(and \d+ more time\(s\) in the next 28 years\)/);
  });

  it('refuses a schedule that never fires', () => {
    expect(scheduleProblem(parseCronSpec({ minute: '0', hour: '5', day: '30', month: 'FEB' }), 'UTC', NOW)).toBe(
      'cron(0 5 30 FEB ? *) never fires: no date in the next 28 years matches its day, month and weekDay',
    );
    expect(scheduleProblem(parseCronSpec({ minute: '0', hour: '5', day: '29', month: 'FEB' }), 'UTC', NOW)).toBeUndefined();
  });

  it('sizes silence alarms from the schedule: longest gap, the zone’s clock change, an hour for the run', () => {
    expect(silenceHours({ minute: '15', hour: '6/6' }, 'UTC', NOW)).toBe(13);
    expect(silenceHours({ minute: '15', hour: '6/6' }, 'Europe/Berlin', NOW)).toBe(14);
    expect(silenceHours({ minute: '0', hour: '4' }, 'Europe/Berlin', NOW)).toBe(26);
    expect(silenceHours({ minute: '0/30', hour: '*' }, 'Antarctica/Troll', NOW)).toBe(4); // Troll moves by two hours
    expect(silenceHours({ minute: '0', hour: '4', weekDay: 'SUN' }, 'UTC', NOW)).toBe(168);
    expect(silenceHours({ minute: '0', hour: '4', day: '1' }, 'UTC', NOW)).toBe(168);
  });

  it('gives custom schedules silence alarms that fit them', () => {
    const stack = synthStack({
      targets: [
        target('prod', {
          tasks: { 'analyze-tables': { schedule: { minute: '5', hour: '0/2' } }, 'daily-maintenance': { schedule: { minute: '0', hour: '5', weekDay: 'SAT' } } },
        }),
      ],
    });
    const alarms = stack.targetStacks.flatMap((s) => Object.values(Template.fromStack(s).findResources('AWS::CloudWatch::Alarm')));
    const period = (name: string) => alarms.find((a) => a['Properties']['AlarmName'] === name)?.['Properties']['Period'];
    // Every 2 hours: the gap, no clock change in UTC, an hour for the run.
    expect(period('dbmaint-prod-analyze-tables-not-succeeded')).toBe(3 * 3600);
    // A weekly daily-maintenance: its steps are watched over a week, not 26 h.
    expect(period('dbmaint-prod-optimize-tables-not-succeeded')).toBe(168 * 3600);
  });

  it('fails `cdk synth` with the config path and the next skipped date', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-cron-'));
    const file = path.join(dir, 'dst.json');
    writeFileSync(file, JSON.stringify(withSchedule({ minute: '30', hour: '2', weekDay: 'SUN' }, { timeZone: 'America/New_York' })));
    const out = spawnSync('npx', ['cdk', 'synth', '-q', '-c', `config=${file}`, '-o', path.join(dir, 'out')], { cwd: repoRoot, encoding: 'utf8' });
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(
      /config\.targets\[0\]\.tasks\.weekly-maintenance\.schedule: cron\(30 2 \? \* SUN \*\) would be skipped on \d{4}-03-\d{2} 02:30 .*clocks in America\/New_York go from UTC-05:00 to UTC-04:00/,
    );
  });
});

it('the README example override is not a time a clock change skips', () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const example = /give it another cron \(`(\{[^`]+\})`/.exec(readme);
  expect(example).not.toBeNull();
  const cron = parseCronSpec(JSON.parse(example![1]!) as CronSpec);
  expect(ZONES.flatMap((z) => dstConflicts(cron, z, FROM, TO))).toEqual([]);
});
