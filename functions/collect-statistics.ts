// Lambda entry point of the collect-statistics task (see lib/catalogue.ts): its module only, so its bundle carries no other task and no SES client.
import { collectStatistics } from '../lib/tasks/modules/collect-statistics';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler(collectStatistics);
