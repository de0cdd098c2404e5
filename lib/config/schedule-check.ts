// Synth-time checks of the configured schedules in the maintenance time zone: never firing, or skipped by a clock change, is refused.
import type { CronSpec } from '../catalogue';
import { formatLocal, localFireTimes, localTimeOf, nextFireDate, parseCronSpec, wallOf, type LocalTime, type ParsedCron } from './cron';
import { conflictWindow, describeConflict, dstConflicts, offsetMinutes, zoneTransitions } from './dst';
import { ConfigError, formatPath } from './issues';
import type { DbMaintConfig } from './schema';

/** Years searched from today: the weekday/date pattern of the Gregorian calendar repeats every 28 years (1901-2099). */
const CHECK_YEARS = 28;

const HOUR = 3_600_000;
const YEAR = 365.25 * 24 * HOUR;

/** CloudWatch evaluates an alarm over at most 7 days. */
const MAX_SILENCE_HOURS = 168;

export interface ConfiguredSchedule {
  readonly path: readonly (string | number)[];
  readonly spec: CronSpec;
}

/** Every `targets[i].tasks.<id>.schedule` of the configuration. */
function configuredSchedules(config: DbMaintConfig): ConfiguredSchedule[] {
  const out: ConfiguredSchedule[] = [];
  config.targets.forEach((t, i) => {
    for (const [id, settings] of Object.entries(t.tasks)) {
      if (settings?.schedule) out.push({ path: ['targets', i, 'tasks', id, 'schedule'], spec: settings.schedule });
    }
  });
  return out;
}

function localNow(zone: string, now: Date): LocalTime {
  return localTimeOf(now.getTime() + offsetMinutes(zone, now.getTime()) * 60_000);
}

/** What is wrong with one schedule in `zone` from `now` on, or undefined: never fires, or the next run a clock change skips. */
export function scheduleProblem(cron: ParsedCron, zone: string, now: Date): string | undefined {
  if (!nextFireDate(cron, localNow(zone, now), CHECK_YEARS)) {
    return `${cron.expression} never fires: no date in the next ${CHECK_YEARS} years matches its day, month and weekDay`;
  }
  const skipped = dstConflicts(cron, zone, now.getTime(), now.getTime() + CHECK_YEARS * YEAR).filter((c) => c.kind === 'skipped');
  const first = skipped[0];
  if (!first) return undefined;
  const more = skipped.length > 1 ? ` (and ${skipped.length - 1} more time(s) in the next ${CHECK_YEARS} years)` : '';
  return (
    `${cron.expression} would be skipped on ${formatLocal(first.local)}${more}: ${describeConflict(first, zone)}` +
    ` and Scheduler skips a run whose local time does not exist; choose a time outside ${conflictWindow(first)}`
  );
}

/** One line per refused schedule, each starting with its config path. */
export function scheduleProblems(config: DbMaintConfig, now: Date = new Date()): string[] {
  const out: string[] = [];
  for (const s of configuredSchedules(config)) {
    const problem = scheduleProblem(parseCronSpec(s.spec), config.timeZone, now);
    if (problem) out.push(`config.${formatPath(s.path)}: ${problem}`);
  }
  return out;
}

/** For `cdk synth`: refuses the configuration when a schedule would not run as written. */
export function assertSchedulesRun(config: DbMaintConfig, source: string, now: Date = new Date()): void {
  const issues = scheduleProblems(config, now);
  if (issues.length > 0) throw new ConfigError(`invalid configuration in ${source}:\n  ${issues.join('\n  ')}`, issues);
}

/**
 * Hours a silence alarm must look back so that a schedule running as written never pages: the longest gap between two
 * local fire times over a year, plus the zone's largest clock change (a fall-back night is that much longer) and an
 * hour for the run itself; whole hours, at most CloudWatch's 7 days.
 */
export function silenceHours(spec: CronSpec, zone: string, now: Date = new Date()): number {
  const cron = parseCronSpec(spec);
  const year = localNow(zone, now).year;
  let previous: number | undefined;
  let gap = 0;
  for (const y of [year, year + 1]) {
    for (const t of localFireTimes(cron, y)) {
      const wall = wallOf(t);
      if (previous !== undefined) gap = Math.max(gap, wall - previous);
      previous = wall;
      if (gap >= MAX_SILENCE_HOURS * HOUR) return MAX_SILENCE_HOURS;
    }
  }
  if (previous === undefined) return MAX_SILENCE_HOURS;
  const shifts = zoneTransitions(zone, now.getTime(), now.getTime() + 2 * YEAR).map((t) => Math.abs(t.after - t.before) * 60_000);
  return Math.min(MAX_SILENCE_HOURS, Math.ceil((gap + Math.max(0, ...shifts)) / HOUR) + 1);
}
