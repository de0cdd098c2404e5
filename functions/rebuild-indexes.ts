// Lambda entry point of the rebuild-indexes task (see lib/catalogue.ts).
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('rebuild-indexes');
