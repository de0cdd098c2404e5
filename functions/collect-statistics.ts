// Lambda entry point of the collect-statistics task (see lib/catalogue.ts).
import { makeHandler } from './lambda-handler';

export const handler = makeHandler('collect-statistics');
