// Lambda entry point of the analyze-tables task (see lib/catalogue.ts).
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('analyze-tables');
