// Lambda entry point of the daily-report task (see lib/catalogue.ts).
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('daily-report');
