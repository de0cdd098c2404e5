// Which targets each routine's fleet execution runs, and when: targets grouped by schedule, then by database server.
import { cronExpression, type CronSpec, type RoutineDefinition } from '../catalogue';

/** What batching reads of a target (structural, so that the schema, which runs the check, need not be imported here). */
export interface BatchedTarget {
  readonly name: string;
  readonly server?: string | undefined;
  readonly tasks: Readonly<Partial<Record<string, { readonly enabled?: boolean | undefined; readonly schedule?: CronSpec | undefined }>>>;
}

/** Targets on one database server: run one after another. */
export interface ServerGroup {
  /** The targets' `server` label, or `target:<name>` for a target that names none (a server of its own). */
  readonly server: string;
  readonly targets: readonly string[];
}

/** The targets whose routine starts at the same cron time: one schedule, one fleet execution. */
export interface RoutineBatch {
  /** `b0`, `b1`, …: what the schedule passes to the fleet state machine. */
  readonly id: string;
  readonly cron: CronSpec;
  /** The catalogue's schedule, or one or more targets' own. */
  readonly custom: boolean;
  readonly servers: readonly ServerGroup[];
}

/** The schedule a target runs `routine` on (the catalogue's, or its own), or undefined when the routine is disabled there. */
function scheduleOf(target: BatchedTarget, routine: RoutineDefinition): CronSpec | undefined {
  const settings = target.tasks[routine.id];
  return settings?.enabled === false ? undefined : (settings?.schedule ?? routine.schedule);
}

/**
 * The batches of `routine`: enabled targets grouped by their schedule for it (the catalogue's, or their own), in config
 * order; within a batch, by server. A target with the routine disabled is in none.
 */
export function routineBatches(config: { readonly targets: readonly BatchedTarget[] }, routine: RoutineDefinition): RoutineBatch[] {
  const batches = new Map<string, { cron: CronSpec; custom: boolean; servers: Map<string, string[]> }>();
  for (const target of config.targets) {
    const cron = scheduleOf(target, routine);
    if (!cron) continue;
    const key = cronExpression(cron);
    let batch = batches.get(key);
    if (!batch) {
      batch = { cron, custom: target.tasks[routine.id]?.schedule !== undefined, servers: new Map() };
      batches.set(key, batch);
    }
    const server = target.server ?? `target:${target.name}`;
    const group = batch.servers.get(server) ?? [];
    group.push(target.name);
    batch.servers.set(server, group);
  }
  return [...batches.values()].map((b, i) => ({
    id: `b${i}`,
    cron: b.cron,
    custom: b.custom,
    servers: [...b.servers].map(([server, targets]) => ({ server, targets })),
  }));
}

/** Distinct schedules per routine across the fleet: each is a branch of the fleet state machine and one schedule. */
export const MAX_BATCHES_PER_ROUTINE = 20;

/** Refuse a fleet whose targets give one routine more distinct schedules than the fleet state machine takes. */
export function checkRoutineBatches(
  cfg: { readonly targets: readonly BatchedTarget[] },
  routines: readonly RoutineDefinition[],
  ctx: { addIssue(issue: { code: 'custom'; path: (string | number)[]; message: string }): void },
): void {
  for (const routine of routines) {
    const seen = new Set<string>();
    cfg.targets.forEach((t, i) => {
      const cron = scheduleOf(t, routine);
      if (!cron) return;
      const key = cronExpression(cron);
      if (seen.has(key) || seen.size < MAX_BATCHES_PER_ROUTINE) {
        seen.add(key);
        return;
      }
      ctx.addIssue({
        code: 'custom',
        path: ['targets', i, 'tasks', routine.id, 'schedule'],
        message: `a ${MAX_BATCHES_PER_ROUTINE + 1}st distinct schedule for ${routine.id} across the targets: at most ${MAX_BATCHES_PER_ROUTINE} (each is one schedule and one branch of the fleet state machine); give targets the same schedule and let fleet.flexibleWindowMinutes spread them`,
      });
    });
  }
}
