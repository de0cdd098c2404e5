// Lambda entry point of the recommendations task (see lib/catalogue.ts): its runner only, and the SES sender (it mails).
import { SesMailSender } from '../lib/reporting/mail/sender';
import { recommendationsRunner } from '../lib/tasks/runners/recommendations';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('recommendations', recommendationsRunner, () => new SesMailSender());
