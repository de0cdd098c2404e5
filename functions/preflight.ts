// Lambda entry point of the preflight task (see lib/catalogue.ts): its module only, so its bundle carries no other task and no SES client.
import { preflight } from '../lib/tasks/modules/preflight';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler(preflight);
