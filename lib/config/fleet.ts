// Fleet-wide deployment settings: schedule spreading, reserved concurrency, how the functions are granted the targets' secrets.
import * as z from 'zod';
import { TASK_IDS } from '../catalogue';
import { planSecretGrants, type SecretAccess, SecretGrantError, secretNameOf, type SecretGrantInput } from './secret-grants';

const concurrency = z.number().int().min(1, 'must be at least 1 (0 would throttle every run; disable a task per target instead)').max(10_000);
const taskId = z.enum(TASK_IDS as unknown as [string, ...string[]]);

/** Secret names may hold letters, digits and /_+=.@- (Secrets Manager); the prefix must end at a separator. */
const secretPrefix = z
  .string()
  .regex(/^[A-Za-z0-9/_+=.@-]{1,200}$/, 'must be 1-200 characters a secret name may hold (letters, digits, /_+=.@-)')
  .regex(/[/_-]$/, "must end with '/', '-' or '_' (a prefix ending mid-word such as 'prod' also matches 'production-…')");

const tagKey = z
  .string()
  .regex(/^[A-Za-z0-9_.:/=+@-]{1,128}$/, 'must be 1-128 characters of letters, digits and _.:/=+@-')
  .refine((k) => !k.toLowerCase().startsWith('aws:'), "must not start with 'aws:' (reserved for AWS)");

const tagValue = z.string().regex(/^[A-Za-z0-9_.:/=+@-]{1,256}$/, 'must be 1-256 characters of letters, digits and _.:/=+@-');

const secretAccessSchema = z.discriminatedUnion('mode', [
  /** Every configured secret ARN listed (least privilege; capacity limited by IAM's policy sizes). */
  z.strictObject({ mode: z.literal('exact') }),
  /** Every secret whose name starts with `prefix`, in the regions and accounts of the configured secrets. */
  z.strictObject({ mode: z.literal('name-prefix'), prefix: secretPrefix }),
  /** Every secret carrying the tag `key` = `value`, in the regions and accounts of the configured secrets. */
  z.strictObject({ mode: z.literal('tag'), key: tagKey, value: tagValue }),
]);

const DEFAULT_FLEXIBLE_WINDOW_MINUTES = 15;
const DEFAULT_MAX_ROUTINES_IN_FLIGHT = 10;

export const fleetSchema = z.strictObject({
  /**
   * EventBridge Scheduler's flexible time window: each scheduled run starts at a moment Scheduler picks within this many
   * minutes after its cron time, so a fleet's 01:00 runs do not all start in the same second. 0: exactly on time.
   * At most 60: the silence alarms allow one hour of slack on the 6-hourly analyze (7 h).
   */
  flexibleWindowMinutes: z
    .number()
    .int()
    .min(0)
    .max(60, 'must be 0-60 minutes: the silence alarms allow one hour of slack on the 6-hourly analyze-tables (7 h)')
    .default(DEFAULT_FLEXIBLE_WINDOW_MINUTES),
  /**
   * At most this many routine executions (one target each) in flight across the fleet: each routine's schedule starts
   * one fleet execution whose Map state runs the targets' routines, this many at a time (infra/constructs/fleet-routine.ts).
   * At most 40: the concurrency Step Functions guarantees an inline Map.
   */
  maxRoutinesInFlight: z
    .number()
    .int()
    .min(1)
    .max(40, 'must be 1-40: an inline Map state runs at most 40 iterations at a time')
    .default(DEFAULT_MAX_ROUTINES_IN_FLIGHT),
  /** Reserved concurrency of every task function, or per task id (a task not listed reserves none). Default: none. */
  reservedConcurrency: z.union([concurrency, z.partialRecord(taskId, concurrency)]).optional(),
  /** How the functions are granted GetSecretValue on the targets' secrets (and kms:Decrypt on their keys). */
  secretAccess: secretAccessSchema.default({ mode: 'exact' }),
});

export type FleetSettings = z.output<typeof fleetSchema>;
// Declared in secret-grants (which plans from it); re-exported for the stack. checkFleet passes the schema's output to
// planSecretGrants, so tsc refuses a schema mode that SecretAccess does not describe.
export type { SecretAccess };
export const DEFAULT_FLEET: FleetSettings = { flexibleWindowMinutes: DEFAULT_FLEXIBLE_WINDOW_MINUTES, maxRoutinesInFlight: DEFAULT_MAX_ROUTINES_IN_FLIGHT, secretAccess: { mode: 'exact' } };

/** The reserved concurrency of one task's function under these settings, if any. */
export function reservedConcurrencyOf(fleet: FleetSettings, task: string): number | undefined {
  const r = fleet.reservedConcurrency;
  return typeof r === 'number' ? r : r?.[task];
}

interface IssueSink {
  addIssue(issue: { code: 'custom'; path: (string | number)[]; message: string }): void;
}

/** Cross-field checks of the fleet settings against the targets: run from the config's superRefine. */
export function checkFleet(cfg: SecretGrantInput & { fleet: FleetSettings }, ctx: IssueSink): void {
  const access = cfg.fleet.secretAccess;
  if (access.mode === 'name-prefix') {
    cfg.targets.forEach((t, i) => {
      const arns: [string, (string | number)[]][] = [
        [t.secretArn, ['targets', i, 'secretArn']],
        ...t.replicaSecretArns.map((a, j): [string, (string | number)[]] => [a, ['targets', i, 'replicaSecretArns', j]]),
      ];
      for (const [arn, path] of arns) {
        const name = secretNameOf(arn);
        if (name.startsWith(access.prefix)) continue;
        const message = `secret name '${name}' does not start with fleet.secretAccess.prefix '${access.prefix}': the functions could not read it`;
        ctx.addIssue({ code: 'custom', path, message });
      }
    });
  }
  try {
    planSecretGrants(cfg, access);
  } catch (err) {
    if (!(err instanceof SecretGrantError)) throw err;
    ctx.addIssue({ code: 'custom', path: err.path, message: err.message });
  }
}
