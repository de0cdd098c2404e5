// Lambda entry point of the daily-report task (see lib/catalogue.ts): its runner only, and the SES sender (it mails).
import { SesMailSender } from '../lib/reporting/mail/sender';
import { dailyReportRunner } from '../lib/tasks/runners/daily-report';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('daily-report', dailyReportRunner, () => new SesMailSender());
