// Lambda entry point of the analyze-tables task (see lib/catalogue.ts): its runner only, so its bundle carries no other task and no SES client.
import { analyzeRunner } from '../lib/tasks/runners/analyze-tables';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('analyze-tables', analyzeRunner);
