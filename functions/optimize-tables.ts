// Lambda entry point of the optimize-tables task (see lib/catalogue.ts).
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('optimize-tables');
