// Lambda entry point of the rebuild-indexes task (see lib/catalogue.ts): its runner only, so its bundle carries no other task and no SES client.
import { rebuildIndexesRunner } from '../lib/tasks/runners/rebuild-indexes';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('rebuild-indexes', rebuildIndexesRunner);
