import { Piscina } from 'piscina';
import type { ImageShape } from '../image-shape';
import { workerFile } from '../worker-file';
import { decodeAndShape, readAndHash, type ReadOutcome, type ShapedOutcome } from './prepare-image';
import type { PrepareTask } from './prepare-worker';

/** Items per task: enough that a message costs little beside the work, few enough to spread. */
const GROUP_ITEMS = 32;
/** Bytes of images per decode task, so that one group of large photos does not hold one thread. */
const GROUP_BYTES = 8 * 1024 * 1024;

/**
 * Where an import reads, hashes and decodes: on its own thread (`threads: 1`), or on a pool of
 * worker threads, the import's thread then only deduplicating, batching and writing. Results come
 * back in the order of the items given, whatever thread finished first, so rows, ids, splits and
 * findings are what a one-thread import makes.
 */
export interface Preparer {
  readonly threads: number;
  /** Each item's bytes and hash (items carrying bytes are hashed here: copying them costs as much). */
  readAndHash(items: ReadonlyArray<{ path: string; bytes?: Uint8Array }>, maxBytes: number): Promise<ReadOutcome[]>;
  decodeAndShape(images: readonly Uint8Array[], shape: ImageShape, maxPixels?: number): Promise<ShapedOutcome[]>;
  close(): Promise<void>;
}

export function openPreparer(threads: number): Preparer {
  return threads <= 1 ? inline() : pooled(threads);
}

function inline(): Preparer {
  return {
    threads: 1,
    readAndHash: async (items, maxBytes) => items.map((item) => readAndHash(item, maxBytes)),
    decodeAndShape: async (images, shape, maxPixels) => {
      const out: ShapedOutcome[] = [];
      for (const image of images) out.push(await decodeAndShape(image, shape, maxPixels));
      return out;
    },
    close: async () => undefined,
  };
}

/** Consecutive groups of at most GROUP_ITEMS items and about `maxBytes` bytes. */
function groups<T>(items: readonly T[], size: (item: T) => number, maxBytes = Infinity): T[][] {
  const out: T[][] = [];
  let group: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (group.length > 0 && (group.length >= GROUP_ITEMS || bytes + size(item) > maxBytes)) {
      out.push(group);
      group = [];
      bytes = 0;
    }
    group.push(item);
    bytes += size(item);
  }
  if (group.length > 0) out.push(group);
  return out;
}

function pooled(threads: number): Preparer {
  const pool = new Piscina<PrepareTask, ReadOutcome[] | ShapedOutcome[]>({
    filename: workerFile(__dirname, 'prepare-worker.js'),
    minThreads: threads,
    maxThreads: threads,
  });
  return {
    threads,
    async readAndHash(items, maxBytes) {
      // Files are read where they are hashed; bytes already in hand are hashed here.
      const onDisk = items.map((item, i) => ({ item, i })).filter(({ item }) => item.bytes === undefined);
      const out = new Array<ReadOutcome>(items.length);
      for (const [i, item] of items.entries()) if (item.bytes) out[i] = readAndHash(item, maxBytes);
      const parts = groups(onDisk, () => 1);
      const results = await Promise.all(
        parts.map((part) => pool.run({ kind: 'read', paths: part.map((p) => p.item.path), maxBytes })),
      );
      parts.forEach((part, g) => part.forEach(({ i }, k) => (out[i] = (results[g] as ReadOutcome[])[k])));
      return out;
    },
    async decodeAndShape(images, shape, maxPixels) {
      const parts = groups(images, (b) => b.length, GROUP_BYTES);
      const results = await Promise.all(
        parts.map((part) => pool.run({ kind: 'shape', images: part, shape, maxPixels })),
      );
      return results.flat() as ShapedOutcome[];
    },
    close: () => pool.destroy(),
  };
}
