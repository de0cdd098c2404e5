// What daily-report and weekly-report share: their event, gather from the server, render, mail (a send failure is counted, never fatal).
import * as z from 'zod';
import { baseEventShape, stepOutcomeSchema } from '../events/schema';
import { METRIC, point } from '../metrics/names';
import { sendAlerts, type AlertOutcome } from '../reporting/alerts';
import { gatherDaily, gatherWeekly } from '../reporting/gather';
import { renderDailyReport, renderWeeklyReport } from '../reporting/mail/render';
import { sendReport } from '../reporting/mail/sender';
import type { AlertCondition, RenderedMail } from '../reporting/report-data';
import type { DigestBody, TaskContext, TaskOutcome } from './task-module';
import type { StoreProblem } from '../runlog/store-access';

export const reportEventSchema = z.strictObject({
  ...baseEventShape,
  steps: z.array(stepOutcomeSchema).max(20).default([]),
  /** Report on this many hours back instead of the task's own period (24 h daily, 168 h weekly). */
  periodHours: z.number().int().min(1).max(24 * 31).optional(),
});
export type ReportEvent = z.output<typeof reportEventSchema>;

export interface ReportResult {
  readonly headline: string;
  readonly subject: string;
  readonly to: readonly string[];
  readonly sent: boolean;
  readonly messageId?: string;
  readonly error?: string;
  /** The rendered mail (a dry run renders and sends nothing). */
  readonly mail: RenderedMail;
  readonly alert?: AlertOutcome;
}

function reportsOf(ctx: TaskContext<ReportEvent>) {
  const reports = ctx.config.reports;
  if (!reports) throw new Error('reports are not configured (config.reports)');
  if (!ctx.mailer) throw new Error('no mail sender available');
  return { reports, mailer: ctx.mailer };
}

async function deliver(ctx: TaskContext<ReportEvent>, mail: RenderedMail, enabled: boolean, alert?: AlertOutcome): Promise<TaskOutcome<ReportResult>> {
  const { reports, mailer } = reportsOf(ctx);
  let sent = false;
  let messageId: string | undefined;
  let error: string | undefined;
  if (!ctx.event.dryRun && enabled) {
    const out = await sendReport(mailer, { ...mail, from: reports.from, to: reports.to }, ctx.log);
    sent = out.sent;
    messageId = out.messageId;
    error = out.error;
  }
  const failedSends = (error ? 1 : 0) + (alert?.error ? 1 : 0);
  const headline = ctx.event.dryRun ? 'rendered (dry run: not sent)' : !enabled ? 'rendered; sending switched off in config.reports' : sent ? `sent to ${reports.to.join(', ')}` : `not sent: ${error}`;
  return {
    result: { headline, subject: mail.subject, to: reports.to, sent, ...(messageId ? { messageId } : {}), ...(error ? { error } : {}), mail, ...(alert ? { alert } : {}) },
    // A mail that could not be sent does not undo or fail the maintenance it reports on: it is counted and alarmed.
    status: 'succeeded',
    metrics: [point(METRIC.ReportsSent, (sent ? 1 : 0) + (alert?.sent ? 1 : 0)), point(METRIC.ReportSendFailed, failedSends)],
  };
}

function withNotes<D extends { notes?: readonly string[] }>(data: D, notes: readonly string[]): D {
  return notes.length ? { ...data, notes: [...notes] } : data;
}

export async function runDailyReport(ctx: TaskContext<ReportEvent>): Promise<TaskOutcome<ReportResult>> {
  const { reports, mailer } = reportsOf(ctx);
  const problems = (p: StoreProblem) => ctx.runLog.note(p);
  const data = await gatherDaily(
    { db: ctx.db, config: ctx.config, target: ctx.target, now: ctx.now, server: ctx.db.describe(), problems },
    ctx.event.periodHours ?? 24,
    ctx.event.steps,
    reports.topRecommendations,
  );
  const failures: AlertCondition[] = data.runs
    .filter((r) => r.status === 'failed' && !r.dryRun)
    .map((r) => ({ key: `failed:${r.task}`, kind: 'task-failed', title: `${r.task} failed on ${r.target}`, detail: r.error ?? r.headline }));
  const alert = ctx.event.dryRun ? undefined : await sendAlerts(ctx.db, ctx.config, ctx.target.name, mailer, ctx.log, ctx.now, failures, problems);
  return deliver(ctx, renderDailyReport(withNotes(data, ctx.runLog.notes)), reports.sendMaintenanceReports, alert);
}

export async function runWeeklyReport(ctx: TaskContext<ReportEvent>): Promise<TaskOutcome<ReportResult>> {
  const { reports } = reportsOf(ctx);
  const problems = (p: StoreProblem) => ctx.runLog.note(p);
  const data = await gatherWeekly({ db: ctx.db, config: ctx.config, target: ctx.target, now: ctx.now, server: ctx.db.describe(), problems }, ctx.event.periodHours ?? 168, ctx.event.steps);
  return deliver(ctx, renderWeeklyReport(withNotes(data, ctx.runLog.notes)), reports.sendWeeklyReports);
}

/** A report run's digest is its delivery. */
export function reportDigest(r: ReportResult): DigestBody {
  return { headline: r.headline, rows: [] };
}

export function reportSummary(r: ReportResult): string {
  return `Subject   ${r.subject}\nDelivery  ${r.headline}`;
}
