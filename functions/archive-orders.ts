// Lambda entry point of the archive-orders task (see lib/catalogue.ts): its runner only, so its bundle carries no other task and no SES client.
import { archiveOrdersRunner } from '../lib/tasks/runners/archive-orders';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('archive-orders', archiveOrdersRunner);
