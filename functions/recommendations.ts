// Lambda entry point of the recommendations task (see lib/catalogue.ts): its module only, and the SES sender (it mails).
import { SesMailSender } from '../lib/reporting/mail/sender';
import { recommendations } from '../lib/tasks/modules/recommendations';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler(recommendations, () => new SesMailSender());
