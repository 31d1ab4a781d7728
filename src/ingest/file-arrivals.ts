import fs from 'node:fs';
import { FileTooLarge, NotRegularFile, readRegularFile } from '../read-file';
import path from 'node:path';
import { isCompleteImage } from './complete-image';
import { FolderEvents } from './folder-events';
import type { ImportItem } from './import-pipeline';
import { placeByPath, splitOfFolder, type Layout } from './layout';
import type { Rejection } from './walk-labeled-folder';

/**
 * Files arriving under a folder, handed out only once they are complete. folder-events.ts reports
 * adds and changes (and lists what is already there, so a restart rescans). Completeness is
 * decided here, not by a fixed stability window for every file (chokidar's awaitWriteFinish),
 * because most arrivals (written elsewhere, then renamed into place) are whole the moment they
 * appear:
 * - a file whose bytes are a whole image by its format's framing (complete-image.ts) is taken at once;
 * - any other file is taken when its size and mtime have not changed for `settleMs`.
 * A file is read once it qualifies, and taken only if its size and mtime did not move during the
 * read, so a half-written file is never handed out.
 */

export interface Arrival extends ImportItem {
  bytes: Buffer;
  /** size:mtime when read: a later event with the same signature is the same file. */
  signature: string;
  /** When the file was first seen (ms since epoch). */
  seenAt: number;
}

export interface ArrivalOptions {
  /** `any`: every file under the root, labelled or not (what `predict --watch` takes). */
  layout: Layout | 'any';
  settleMs: number;
  /** Most files read and waiting to be taken; past it files wait unread on disk (backpressure). */
  maxQueueFiles: number;
  maxQueueBytes: number;
  /** A larger file is refused by its size, unread (as folder import refuses what a row cannot hold). */
  maxFileBytes: number;
  /** Folders under the root that are not input (e.g. --move-done inside it). */
  ignoreDirs?: string[];
  /** A file that can never be imported where it is (a loose file, a non-split folder). */
  onRejected?: (r: Rejection) => void;
  onError?: (e: Error) => void;
}

/** How often every watched folder is listed again, in case the kernel dropped an event. */
const RESCAN_MS = 30_000;

/** Names that writers use while a file is incomplete, before renaming it into place. */
const TEMPORARY = /(\.tmp|\.temp|\.part|\.partial|\.crdownload|\.download|~)$/i;

interface Pending {
  signature: string;
  /** When the signature last changed. */
  changedAt: number;
  /** Earliest time to look again. */
  checkAt: number;
  seenAt: number;
  /** The framing was checked for this signature and was not complete. */
  framingChecked: boolean;
}

export class FileArrivals {
  readonly root: string;
  #events: FolderEvents | undefined;
  #tickQueued = false;
  #pending = new Map<string, Pending>();
  #ready: Arrival[] = [];
  #readyBytes = 0;
  /** Files handed out and handled, by signature: an event that changes nothing is ignored. */
  #handled = new Map<string, string>();
  /** Files handed out (or waiting to be), by signature: not read twice. */
  #taken = new Map<string, string>();
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    root: string,
    private readonly opts: ArrivalOptions,
  ) {
    this.root = path.resolve(root);
  }

  /** Starts watching; resolves once the files already there have been listed. */
  async start(): Promise<void> {
    const ignoreDirs = (this.opts.ignoreDirs ?? []).map((d) => path.resolve(d));
    this.#events = new FolderEvents(this.root, {
      ignore: (p) => {
        if (ignoreDirs.some((d) => p === d || p.startsWith(d + path.sep))) return true;
        const name = path.basename(p);
        return name.startsWith('.') || TEMPORARY.test(name);
      },
      onFile: (p) => this.#saw(p),
      onGone: (p) => {
        this.#pending.delete(p);
        this.#handled.delete(p);
      },
      onError: (e) => this.opts.onError?.(e),
      onRejected: (p, reason) => this.opts.onRejected?.({ path: p, reason }),
      rescanMs: RESCAN_MS,
    });
    this.#events.start();
    const tickMs = Math.max(10, Math.min(50, this.opts.settleMs / 5));
    this.#timer = setInterval(() => this.#tick(), tickMs);
  }

  /** Files seen but not yet complete, plus files read and waiting. */
  get queued(): number {
    return this.#pending.size + this.#ready.length;
  }

  /**
   * The next batch: waits for a first complete file, then for up to `maxFiles` of them or until
   * the first has waited `maxWaitMs`, whichever comes first. Empty when closed or `signal` fires.
   */
  async take(maxFiles: number, maxWaitMs: number, signal?: AbortSignal): Promise<Arrival[]> {
    const aborted = () => this.#closed || signal?.aborted === true;
    while (this.#ready.length === 0 && !aborted()) await this.#sleep(undefined, signal);
    if (aborted()) return [];
    const deadline = Date.now() + maxWaitMs;
    while (this.#ready.length < maxFiles && Date.now() < deadline && !aborted())
      await this.#sleep(deadline - Date.now(), signal);
    const batch = this.#ready.splice(0, maxFiles);
    for (const a of batch) this.#readyBytes -= a.bytes.length;
    return batch;
  }

  /** The file was imported or refused: only a new version of it (or a new file there) counts again. */
  handled(a: Arrival): void {
    this.#taken.delete(a.path);
    this.#handled.set(a.path, a.signature);
  }

  /** Handed back (e.g. its batch could not be stored before a stop): it will be looked at again. */
  retry(a: Arrival): void {
    this.#taken.delete(a.path);
    this.#saw(a.path);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#wake?.();
    this.#events?.close();
  }

  #sleep(ms: number | undefined, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }

  #saw(file: string): void {
    if (this.#closed) return;
    const placement = this.#place(file);
    if (typeof placement === 'string') {
      if (!this.#handled.has(file)) {
        this.#handled.set(file, 'rejected');
        this.opts.onRejected?.({ path: file, reason: placement });
      }
      return;
    }
    const now = Date.now();
    const known = this.#pending.get(file);
    if (known) {
      known.checkAt = now;
      return;
    }
    this.#pending.set(file, { signature: '', changedAt: now, checkAt: now, seenAt: now, framingChecked: false });
    // Looked at on the next turn, together with the other arrivals of this one (a listing of
    // thousands of files must not re-scan the pending set per file).
    if (!this.#tickQueued) {
      this.#tickQueued = true;
      setImmediate(() => {
        this.#tickQueued = false;
        this.#tick();
      });
    }
  }

  #place(file: string): ReturnType<typeof placeByPath> {
    const parts = path.relative(this.root, file).split(path.sep);
    if (this.opts.layout === 'any') return { label: '', relative: parts.join('/') };
    const layout =
      this.opts.layout === 'auto'
        ? parts.length >= 3 && splitOfFolder(parts[0]) !== undefined
          ? 'splits'
          : 'labels'
        : this.opts.layout;
    return placeByPath(parts, layout);
  }

  #full(): boolean {
    return this.#ready.length >= this.opts.maxQueueFiles || this.#readyBytes >= this.opts.maxQueueBytes;
  }

  #tick(): void {
    const now = Date.now();
    for (const [file, p] of this.#pending) {
      if (this.#full()) return;
      if (p.checkAt > now) continue;
      this.#check(file, p, now);
    }
  }

  #check(file: string, p: Pending, now: number): void {
    const before = statSignature(file);
    if (before === undefined) {
      this.#pending.delete(file);
      return;
    }
    if (this.#handled.get(file) === before || this.#taken.get(file) === before) {
      this.#pending.delete(file);
      return;
    }
    if (before !== p.signature) {
      p.signature = before;
      p.changedAt = now;
      p.framingChecked = false;
    }
    const settled = now - p.changedAt >= this.opts.settleMs;
    if (!settled && p.framingChecked) {
      p.checkAt = p.changedAt + this.opts.settleMs;
      return;
    }
    let bytes: Buffer;
    try {
      bytes = readRegularFile(file, this.opts.maxFileBytes);
    } catch (e) {
      if (e instanceof FileTooLarge || e instanceof NotRegularFile) {
        this.#pending.delete(file);
        this.#handled.set(file, before);
        const reason = e instanceof FileTooLarge ? `larger than ${this.opts.maxFileBytes} bytes` : e.message;
        this.opts.onRejected?.({ path: file, reason });
        return;
      }
      p.checkAt = now + this.opts.settleMs; // vanished or unreadable for now: look again later
      return;
    }
    const complete = settled || isCompleteImage(bytes);
    if (!complete || statSignature(file) !== before) {
      p.framingChecked = complete ? false : true;
      p.checkAt = now + (complete ? 0 : this.opts.settleMs);
      return;
    }
    const placement = this.#place(file) as Exclude<ReturnType<typeof placeByPath>, string>;
    this.#pending.delete(file);
    this.#taken.set(file, before);
    this.#ready.push({ path: file, ...placement, bytes, signature: before, seenAt: p.seenAt });
    this.#readyBytes += bytes.length;
    this.#wake?.();
  }
}

function statSignature(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? `${st.size}:${st.mtimeMs}` : undefined;
  } catch {
    return undefined;
  }
}
