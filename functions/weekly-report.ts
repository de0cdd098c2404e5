// Lambda entry point of the weekly-report task (see lib/catalogue.ts): its module only, and the SES sender (it mails).
import { SesMailSender } from '../lib/reporting/mail/sender';
import { weeklyReport } from '../lib/tasks/modules/weekly-report';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler(weeklyReport, () => new SesMailSender());
