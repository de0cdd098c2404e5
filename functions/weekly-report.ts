// Lambda entry point of the weekly-report task (see lib/catalogue.ts): its runner only, and the SES sender (it mails).
import { SesMailSender } from '../lib/reporting/mail/sender';
import { weeklyReportRunner } from '../lib/tasks/runners/weekly-report';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('weekly-report', weeklyReportRunner, () => new SesMailSender());
