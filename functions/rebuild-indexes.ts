// Lambda entry point of the rebuild-indexes task (see lib/catalogue.ts): its module only, so its bundle carries no other task and no SES client.
import { rebuildIndexes } from '../lib/tasks/modules/rebuild-indexes';
import { makeHandler } from './lambda-handler';

export const handler = makeHandler(rebuildIndexes);
