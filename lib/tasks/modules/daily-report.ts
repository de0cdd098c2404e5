// The daily-report task: gather, render and mail the daily report (lib/tasks/report-task.ts).
import { defineTask } from '../task-module';
import { reportDigest, reportEventSchema, reportSummary, runDailyReport } from '../report-task';

export const dailyReport = defineTask({
  id: 'daily-report',
  description:
    'Mails what ran in the last 24 h per task and table (rows, space, durations, failures with their errors), database size and growth, and the top recommendations; failed tasks are also mailed as an alert.',
  eventSchema: reportEventSchema,
  run: runDailyReport,
  digest: reportDigest,
  summary: reportSummary,
});
