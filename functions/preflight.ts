// Lambda entry point of the preflight task (see lib/catalogue.ts).
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('preflight');
