// Where a zone's clock jumps (DST and other offset changes) and which local fire times of a schedule fall in a jump, from Intl alone.
import { firesAt, formatLocal, localTimeOf, type LocalTime, type ParsedCron } from './cron';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Offsets are sampled this far apart, then bisected to the minute; no zone changes offset twice within a week and back. */
const SAMPLE = 7 * DAY;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Minutes east of UTC in `zone` at the instant `utc` (ms). */
export function offsetMinutes(zone: string, utc: number): number {
  const p: Record<string, string> = {};
  for (const part of formatter(zone).formatToParts(new Date(utc))) p[part.type] = part.value;
  const year = p['era'] === 'BC' ? 1 - Number(p['year']) : Number(p['year']);
  const wall = Date.UTC(year, Number(p['month']) - 1, Number(p['day']), Number(p['hour']), Number(p['minute']), Number(p['second']));
  return Math.round((wall - Math.floor(utc / 1000) * 1000) / MINUTE);
}

export interface ZoneTransition {
  /** First instant (UTC ms, whole minute) with the new offset. */
  readonly at: number;
  readonly before: number;
  readonly after: number;
}

const transitionCache = new Map<string, readonly ZoneTransition[]>();

/** The offset changes of `zone` in [from, to) (UTC ms), cached per zone and window. */
export function zoneTransitions(zone: string, from: number, to: number): readonly ZoneTransition[] {
  // Scanned whole UTC days, so that calls made moments apart share the cache.
  const dayFrom = Math.floor(from / DAY) * DAY;
  const dayTo = Math.ceil(to / DAY) * DAY;
  const key = `${zone} ${dayFrom} ${dayTo}`;
  const cached = transitionCache.get(key) ?? scan(zone, dayFrom, dayTo);
  transitionCache.set(key, cached);
  return cached.filter((x) => x.at >= from && x.at < to);
}

function scan(zone: string, from: number, to: number): readonly ZoneTransition[] {
  const out: ZoneTransition[] = [];
  const find = (lo: number, loOff: number, hi: number, hiOff: number): void => {
    // Invariant: offset(lo) = loOff, offset(hi) = hiOff, loOff != hiOff; narrow to adjacent minutes.
    while (hi - lo > MINUTE) {
      const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
      const midOff = offsetMinutes(zone, mid);
      if (midOff !== loOff) {
        // A change lies in (lo, mid]; a second one may lie in (mid, hi].
        if (midOff !== hiOff) find(mid, midOff, hi, hiOff);
        hi = mid;
        hiOff = midOff;
      } else {
        lo = mid;
      }
    }
    out.push({ at: hi, before: loOff, after: hiOff });
  };
  let t = from;
  let off = offsetMinutes(zone, t);
  while (t < to) {
    const next = Math.min(t + SAMPLE, to);
    const nextOff = offsetMinutes(zone, next);
    if (nextOff !== off) find(t, off, next, nextOff);
    t = next;
    off = nextOff;
  }
  return out.sort((a, b) => a.at - b.at);
}

export interface DstConflict {
  /** `skipped`: the local time does not exist that day (Scheduler skips the run); `repeated`: it occurs twice (Scheduler runs once). */
  readonly kind: 'skipped' | 'repeated';
  readonly local: LocalTime;
  /** The zone's offset change, UTC. */
  readonly transition: string;
  readonly fromOffset: number;
  readonly toOffset: number;
  /** The local times skipped or repeated by that change: [first, last] minute. */
  readonly first: LocalTime;
  readonly last: LocalTime;
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** `02:00-02:59`, with dates when the window crosses midnight. */
export function conflictWindow(c: DstConflict): string {
  const sameDay = formatLocal(c.first).slice(0, 10) === formatLocal(c.last).slice(0, 10);
  return sameDay ? `${formatLocal(c.first).slice(11)}-${formatLocal(c.last).slice(11)}` : `${formatLocal(c.first)} to ${formatLocal(c.last)}`;
}

export function describeConflict(c: DstConflict, zone: string): string {
  const what = c.kind === 'skipped' ? 'do not exist' : 'occur twice';
  return `clocks in ${zone} go from ${formatOffset(c.fromOffset)} to ${formatOffset(c.toOffset)} at ${c.transition}, so local ${conflictWindow(c)} ${what} on ${formatLocal(c.first).slice(0, 10)}`;
}

/** Local fire times of `cron` in [from, to) that a clock change in `zone` skips or repeats, in order. */
export function dstConflicts(cron: ParsedCron, zone: string, from: number, to: number): DstConflict[] {
  const out: DstConflict[] = [];
  for (const tr of zoneTransitions(zone, from, to)) {
    // The wall clock reads `at + before` just before the change and `at + after` just after it.
    const a = tr.at + tr.before * MINUTE;
    const b = tr.at + tr.after * MINUTE;
    const kind = b > a ? 'skipped' : 'repeated';
    const [lo, hi] = b > a ? [a, b] : [b, a];
    for (let wall = lo; wall < hi; wall += MINUTE) {
      const local = localTimeOf(wall);
      if (!firesAt(cron, local)) continue;
      out.push({
        kind,
        local,
        transition: new Date(tr.at).toISOString().replace('.000Z', 'Z'),
        fromOffset: tr.before,
        toOffset: tr.after,
        first: localTimeOf(lo),
        last: localTimeOf(hi - MINUTE),
      });
    }
  }
  return out;
}

/** The wall-clock minutes of day (0-1439) that some clock change in `zone` skips or repeats within [from, to). */
export function unsteadyMinutesOfDay(zone: string, from: number, to: number): Set<number> {
  const out = new Set<number>();
  for (const tr of zoneTransitions(zone, from, to)) {
    const a = tr.at + tr.before * MINUTE;
    const b = tr.at + tr.after * MINUTE;
    const [lo, hi] = b > a ? [a, b] : [b, a];
    for (let wall = lo; wall < hi && out.size < 1440; wall += MINUTE) out.add(Math.floor((wall % DAY) / MINUTE));
  }
  return out;
}
