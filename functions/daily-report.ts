// Lambda entry point of the daily-report task (see lib/catalogue.ts): its module only, and the SES sender (it mails).
import { SesMailSender } from '../lib/reporting/mail/sender';
import { dailyReport } from '../lib/tasks/modules/daily-report';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler(dailyReport, () => new SesMailSender());
