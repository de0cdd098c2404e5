// Lambda entry point of the archive-orders task (see lib/catalogue.ts): its module only, so its bundle carries no other task and no SES client.
import { archiveOrders } from '../lib/tasks/modules/archive-orders';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler(archiveOrders);
