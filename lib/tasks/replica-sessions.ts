// The target's configured replicas as sessions for read-only checks: opened on first use, each failure kept as the replica's error, all closed at the end.
import { openTargetSession } from '../db/connection';
import type { ReplicaNode } from '../recommend/check';
import type { TaskContext } from './task-module';

export interface ReplicaSessions {
  nodes(): Promise<readonly ReplicaNode[]>;
  close(): Promise<void>;
}

/** The replica's name as reports show it: the secret's name (its ARN's last part). */
function replicaName(arn: string): string {
  return arn.split(':').pop() ?? arn;
}

export function replicaSessions(ctx: TaskContext<unknown>): ReplicaSessions {
  let opened: Promise<ReplicaNode[]> | undefined;
  return {
    nodes: () =>
      (opened ??= Promise.all(
        ctx.target.replicaSecretArns.map(async (arn): Promise<ReplicaNode> => {
          const name = replicaName(arn);
          try {
            return { name, session: await openTargetSession(ctx.credentials, arn, ctx.config.session, ctx.target.tls) };
          } catch (err) {
            ctx.log.warn('replica not reachable', { replica: name, error: err instanceof Error ? err.message : String(err) });
            return { name, error: err instanceof Error ? err.message : String(err) };
          }
        }),
      )),
    async close() {
      const nodes = opened ? await opened : [];
      await Promise.all(nodes.flatMap((n) => (n.session ? [n.session.close().catch(() => undefined)] : [])));
    },
  };
}


