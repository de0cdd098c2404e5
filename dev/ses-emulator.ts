// A local SES endpoint for tests and the demo (never in Lambda): aws-ses-v2-local on a free port, sent mail read back over HTTP.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESClient } from '@aws-sdk/client-ses';
import * as sesLocalModule from 'aws-ses-v2-local';

/** One mail as the emulator keeps it (`GET /store`). */
export interface StoredMail {
  readonly messageId: string;
  readonly from: string;
  readonly replyTo: string[];
  readonly destination: { readonly to: string[]; readonly cc: string[]; readonly bcc: string[] };
  readonly subject: string;
  readonly body: { readonly html?: string; readonly text?: string };
  /** Epoch seconds. */
  readonly at: number;
}

export interface SesLocal {
  readonly endpoint: string;
  /** Every mail the emulator holds. Its store is one per process, shared by all servers started in it. */
  emails(): Promise<StoredMail[]>;
  clear(): Promise<void>;
  stop(): Promise<void>;
}

type StartServer = (config?: { host?: string; port?: number }) => Promise<Server>;

/** The package is CommonJS with `exports.default`: depending on the loader's interop it is one level down or two. */
function startFunction(): StartServer {
  const d = (sesLocalModule as unknown as { default: StartServer | { default: StartServer } }).default;
  return typeof d === 'function' ? d : d.default;
}

export async function startSesLocal(): Promise<SesLocal> {
  // Port 0: the OS picks a free port at listen time, so two test processes never collide.
  const server = await startFunction()({ host: '127.0.0.1', port: 0 });
  if (!server.listening) throw new Error('aws-ses-v2-local did not start listening');
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let stopped = false;
  return {
    endpoint,
    async emails() {
      const res = await fetch(`${endpoint}/store`);
      if (!res.ok) throw new Error(`GET /store: HTTP ${res.status}`);
      return ((await res.json()) as { emails: StoredMail[] }).emails;
    },
    async clear() {
      const res = await fetch(`${endpoint}/clear-store`, { method: 'POST' });
      if (!res.ok) throw new Error(`POST /clear-store: HTTP ${res.status}`);
    },
    stop() {
      if (stopped) return Promise.resolve();
      stopped = true;
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // The SDK keeps connections alive; without this close() waits for them to time out.
        server.closeAllConnections();
      });
    },
  };
}

/** An SES (v1) client for the emulator: any region and credentials do, the emulator checks neither. */
export function localSesClient(endpoint: string, opts: { maxAttempts?: number } = {}): SESClient {
  return new SESClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
  });
}
