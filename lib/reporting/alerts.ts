// Alert mail: conditions not mailed within the alert period are rendered, sent, and remembered.
import type { DbMaintConfig } from '../config/schema';
import type { DbSession } from '../db/connection';
import type { Log } from '../runtime/log';
import { AlertState } from './alert-state';
import { renderAlert } from './mail/render';
import { sendReport, type MailSender } from './mail/sender';
import type { AlertCondition } from './report-data';
import { ensureWritable, type StoreProblem } from '../runlog/store-access';

export interface AlertOutcome {
  /** Conditions found now, and those due to be mailed (the rest were mailed within the period). */
  readonly conditions: number;
  readonly due: number;
  readonly sent: boolean;
  readonly error?: string;
}

export async function sendAlerts(
  db: DbSession,
  config: DbMaintConfig,
  target: string,
  mailer: MailSender,
  log: Log,
  now: Date,
  conditions: readonly AlertCondition[],
  problems: (p: StoreProblem) => void = () => undefined,
): Promise<AlertOutcome> {
  const reports = config.reports;
  if (!reports?.sendMaintenanceAlerts || conditions.length === 0) return { conditions: conditions.length, due: 0, sent: false };
  const state = new AlertState(db, config.runLog.schema, target);
  // Without a usable alert state the alert still goes out: repeated rather than lost.
  const problem = await ensureWritable(db, state.store());
  if (problem) problems(problem);
  const due = problem ? [...new Map(conditions.map((c) => [c.key, c] as const)).values()] : await state.due(conditions, reports.alertPeriodHours, now);
  if (due.length === 0) return { conditions: conditions.length, due: 0, sent: false };
  const mail = renderAlert({ target, generatedAt: now.toISOString(), conditions: due });
  const out = await sendReport(mailer, { ...mail, from: reports.from, to: reports.to }, log);
  // Only a delivered alert counts as sent: a failed send is tried again by the next run.
  if (out.sent && !problem) await state.markSent(due.map((c) => c.key), now);
  return { conditions: conditions.length, due: due.length, sent: out.sent, ...(out.error ? { error: out.error } : {}) };
}
