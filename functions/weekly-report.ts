// Lambda entry point of the weekly-report task (see lib/catalogue.ts).
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('weekly-report');
