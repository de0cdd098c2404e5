// The daily-report task's runner: how its event is parsed and checked, and what it does with an open session.
import { parseEvent, reportEventSchema, type ReportEvent } from '../../events/schema';
import { runDailyReport, type ReportResult } from '../report-runner';
import type { TaskRunner } from '../task-runner';

export const dailyReportRunner: TaskRunner<ReportEvent, ReportResult> = {
  parse: (raw) => parseEvent(reportEventSchema, raw, 'daily-report'),
  validate: (_event, _target) => undefined,
  run: runDailyReport,
};
