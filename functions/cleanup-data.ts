// Lambda entry point of the cleanup-data task (see lib/catalogue.ts): its module only, so its bundle carries no other task and no SES client.
import { cleanupData } from '../lib/tasks/modules/cleanup-data';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler(cleanupData);
