// Maintenance-window checks at `cdk synth`: a window only on a routine, and long enough for one invocation of each of its steps.
import { getRoutine, isRoutineId } from '../catalogue';
import { minimumWindowSeconds } from '../routines/window';
import type { ConflictIssue } from './conflicts';
import type { DbMaintConfig } from './schema';

type WindowConfig = Pick<DbMaintConfig, 'windows' | 'targets'>;

export function windowIssues(cfg: WindowConfig): ConflictIssue[] {
  const issues: ConflictIssue[] = [];
  const tooShort = (routineId: string, hours: number, path: (string | number)[]) => {
    const min = minimumWindowSeconds(getRoutine(routineId));
    if (hours * 3600 < min) {
      issues.push({ path, message: `is ${hours} h, shorter than one invocation of each step of ${routineId} (${(min / 3600).toFixed(2)} h): use at least ${Math.ceil((min / 3600) * 4) / 4}` });
    }
  };
  for (const [id, w] of Object.entries(cfg.windows)) if (w) tooShort(id, w.hours, ['windows', id, 'hours']);
  cfg.targets.forEach((t, i) => {
    for (const [id, settings] of Object.entries(t.tasks)) {
      if (!settings?.window) continue;
      if (!isRoutineId(id)) {
        issues.push({ path: ['targets', i, 'tasks', id, 'window'], message: `a window belongs to a routine (tasks.daily-maintenance.window, tasks.weekly-maintenance.window), not to the task ${id}` });
        continue;
      }
      tooShort(id, settings.window.hours, ['targets', i, 'tasks', id, 'window', 'hours']);
    }
  });
  return issues;
}
