// Lambda entry point of the optimize-tables task (see lib/catalogue.ts): its runner only, so its bundle carries no other task and no SES client.
import { optimizeRunner } from '../lib/tasks/runners/optimize-tables';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('optimize-tables', optimizeRunner);
