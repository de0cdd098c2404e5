// Lambda entry point of the cleanup-data task (see lib/catalogue.ts).
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('cleanup-data');
