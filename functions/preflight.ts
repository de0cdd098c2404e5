// Lambda entry point of the preflight task (see lib/catalogue.ts): its runner only, so its bundle carries no other task and no SES client.
import { preflightRunner } from '../lib/tasks/runners/preflight';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('preflight', preflightRunner);
