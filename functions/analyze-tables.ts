// Lambda entry point of the analyze-tables task (see lib/catalogue.ts): its module only, so its bundle carries no other task and no SES client.
import { analyzeTables } from '../lib/tasks/modules/analyze-tables';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler(analyzeTables);
