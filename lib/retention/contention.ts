// Whether the application is live while the walk runs: server counters read between chunks decide the chunk time and the lanes.
import type { DbSession } from '../db/connection';
import { globalStatus } from '../db/global-status';

export interface ServerActivity {
  readonly lockWaits: number;
  /** Write statements executed on the server (ours included). */
  readonly writes: number;
}

const WRITE_COUNTERS = ['Com_insert', 'Com_insert_select', 'Com_update', 'Com_update_multi', 'Com_delete', 'Com_delete_multi', 'Com_replace', 'Com_replace_select'];

/** Server-wide counters that tell whether the application is writing, or waiting for locks, while we purge. */
export async function serverActivity(db: DbSession): Promise<ServerActivity> {
  const v = await globalStatus(db, ['Innodb_row_lock_waits', ...WRITE_COUNTERS]);
  return { lockWaits: v.get('Innodb_row_lock_waits')!, writes: WRITE_COUNTERS.reduce((sum, c) => sum + v.get(c)!, 0) };
}

/** Server activity is read after each chunk, but while chunks are short (contended) at most this often. */
const ACTIVITY_SAMPLE_MS = 25;

/** Write statements a chunk counts in the server's Com_* counters. */
export const OWN_WRITES_PER_CHUNK = (action: 'delete' | 'archive', runLogRow: boolean) => (action === 'archive' ? 2 : 1) + (runLogRow ? 1 : 0);

/** What the counters said after a chunk: 'unsampled' when they were not read. */
export interface ChunkContention {
  readonly contended: boolean | 'unsampled';
  readonly foregroundWrites?: number;
  readonly lockWaitsSeen?: number;
  /** Contended: the chunks since the previous sample, which all count as contended. */
  readonly contendedChunks: number;
}

/** The counters since the last sample, and the chunks and own writes they include; shared by the lanes of a walk. */
export class ContentionSensor {
  private sampledAt = Date.now();
  // Since the last sample: chunks, and our own write statements (subtracted from the server's count).
  private unsampledChunks = 0;
  private ownWrites = 0;

  private constructor(
    private activity: ServerActivity,
    /** OWN_WRITES_PER_CHUNK of the rule, asked each time: the run log may stop writing its table. */
    private readonly ownWritesPerChunk: () => number,
  ) {}

  /** The counters at the walk's start; `live` when they moved since `beforeChoice` (the application wrote or waited meanwhile). */
  static async start(db: DbSession, beforeChoice: ServerActivity, ownWritesPerChunk: () => number): Promise<{ sensor: ContentionSensor; live: boolean }> {
    const activity = await serverActivity(db);
    const live = activity.lockWaits > beforeChoice.lockWaits || activity.writes > beforeChoice.writes;
    return { sensor: new ContentionSensor(activity, ownWritesPerChunk), live };
  }

  /**
   * After a committed chunk. Reading the counters costs about as much as a tenth of a short chunk; while the contended
   * target is in force (`shortChunks`) it only decides when to grow chunks again, which takes a second of quiet anyway:
   * sample then at most every ACTIVITY_SAMPLE_MS (and after the `last` chunk, so that every chunk is accounted for).
   */
  async afterChunk(session: DbSession, single: boolean, shortChunks: boolean, last: boolean): Promise<ChunkContention> {
    // Our own write statements per chunk: the DELETE (and the INSERT … SELECT), and the run-log INSERT.
    this.ownWrites += this.ownWritesPerChunk();
    // Contended: row-lock waits anywhere on the server during the chunk (someone may have waited for
    // us), or rows written by others (the application is live: it will run into large chunks' locks).
    this.unsampledChunks++;
    if (shortChunks && Date.now() - this.sampledAt < ACTIVITY_SAMPLE_MS && !last) return { contended: 'unsampled', contendedChunks: 0 };
    const now = await serverActivity(session);
    const foregroundWrites = Math.max(0, now.writes - this.activity.writes - this.ownWrites);
    const lockWaitsSeen = now.lockWaits - this.activity.lockWaits;
    // With two lanes, some of what the server counts is ours. The other lane's chunk may be half done: its
    // statements are counted by the server, not yet by us. And a chunk's range scan reads one row past its
    // upper bound, the first row of the next chunk, which the other lane may hold: one lock wait per chunk at
    // most. The application shows itself by writing more than one chunk's statements, or by waiting more.
    const contended = single ? lockWaitsSeen > 0 || foregroundWrites > 0 : lockWaitsSeen > 1 || foregroundWrites > this.ownWritesPerChunk();
    const contendedChunks = contended ? this.unsampledChunks : 0;
    this.activity = now;
    this.sampledAt = Date.now();
    this.unsampledChunks = 0;
    this.ownWrites = 0;
    return { contended, foregroundWrites, lockWaitsSeen, contendedChunks };
  }
}
