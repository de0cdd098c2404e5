// Lambda entry point of the collect-statistics task (see lib/catalogue.ts): its runner only, so its bundle carries no other task and no SES client.
import { collectStatisticsRunner } from '../lib/tasks/runners/collect-statistics';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('collect-statistics', collectStatisticsRunner);
