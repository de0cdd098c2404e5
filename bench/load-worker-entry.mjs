// Worker entry in plain JavaScript: registers tsx in this thread, then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./load-worker.ts');
