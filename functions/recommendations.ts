// Lambda entry point of the recommendations task (see lib/catalogue.ts).
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('recommendations');
