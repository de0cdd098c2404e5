// The weekly-report task: gather, render and mail the weekly report (lib/tasks/report-task.ts).
import { defineTask } from '../task-module';
import { reportDigest, reportEventSchema, reportSummary, runWeeklyReport } from '../report-task';

export const weeklyReport = defineTask({
  id: 'weekly-report',
  description:
    'Mails the week’s runs, the growth of the database and its largest tables, the capacity projection and the open recommendations.',
  eventSchema: reportEventSchema,
  run: runWeeklyReport,
  digest: reportDigest,
  summary: reportSummary,
});
