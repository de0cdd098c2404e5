// Lambda entry point of the archive-orders task (see lib/catalogue.ts).
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('archive-orders');
