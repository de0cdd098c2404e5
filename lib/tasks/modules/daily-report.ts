// The daily-report task: gather, render and mail the daily report (lib/tasks/report-task.ts).
import { defineTask } from '../task-module';
import { reportDigest, reportEventSchema, reportSummary, runDailyReport } from '../report-task';

export const dailyReport = defineTask({
  id: 'daily-report',
  eventSchema: reportEventSchema,
  run: runDailyReport,
  digest: reportDigest,
  summary: reportSummary,
});
