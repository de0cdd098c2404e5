// Lambda entry point of the cleanup-data task (see lib/catalogue.ts): its runner only, so its bundle carries no other task and no SES client.
import { cleanupRunner } from '../lib/tasks/runners/cleanup-data';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('cleanup-data', cleanupRunner);
