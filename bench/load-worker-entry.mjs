// Load process entry in plain JavaScript: registers tsx, then loads the TypeScript load worker.
import { register } from 'tsx/esm/api';

register();
await import('./load-worker.ts');
