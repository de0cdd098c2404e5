// Lambda entry point of the optimize-tables task (see lib/catalogue.ts): its module only, so its bundle carries no other task and no SES client.
import { optimizeTables } from '../lib/tasks/modules/optimize-tables';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler(optimizeTables);
