// The checks `cdk synth` and the CLI make beyond the structure: cron fields, contradictions between table lists, windows, the long runner's network, fleet limits, routine batches.
import { ROUTINES } from '../catalogue';
import { targetConflicts } from './conflicts';
import { cronSpecIssues } from './cron';
import { checkFleet } from './fleet';
import { checkRoutineBatches } from './routine-batches';
import { configSchema, CRON_FIELD } from './schema';
import { windowIssues } from './windows';

export const checkedConfigSchema = configSchema.superRefine((cfg, ctx) => {
  cfg.targets.forEach((t, i) => {
    // Ranges, steps, names and the day-field rule as Scheduler reads them (lib/config/cron.ts): an impossible spec fails synth, not deploy.
    for (const [id, settings] of Object.entries(t.tasks)) {
      if (!settings?.schedule) continue;
      // A field the character check refused is reported once, by the schema.
      if (Object.values(settings.schedule).some((v) => typeof v !== 'string' || !CRON_FIELD.test(v))) continue;
      for (const issue of cronSpecIssues(settings.schedule)) {
        ctx.addIssue({ code: 'custom', path: ['targets', i, 'tasks', id, 'schedule', ...(issue.field ? [issue.field] : [])], message: issue.message });
      }
    }
    // Contradictions between the target's table lists: rules, excludeTables, rebuildTables (lib/config/conflicts.ts).
    for (const issue of targetConflicts(t, i)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });
  if (cfg.longRunner.enabled && !cfg.network) {
    ctx.addIssue({ code: 'custom', path: ['longRunner', 'enabled'], message: "the long runner is a Fargate task in the targets' VPC: set network (vpcId, subnetIds, securityGroupIds)" });
  }
  for (const issue of windowIssues(cfg)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  checkFleet(cfg, ctx);
  checkRoutineBatches(cfg, ROUTINES, ctx);
});
