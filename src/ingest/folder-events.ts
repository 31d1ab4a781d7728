import fs from 'node:fs';
import path from 'node:path';

export interface FolderEventOptions {
  /** Paths never reported nor descended into (hidden and temporary names, --move-done…). */
  ignore: (fullPath: string) => boolean;
  /** A file appeared or changed (also every file already there at the start). */
  onFile: (fullPath: string) => void;
  /** A file or folder went away. */
  onGone?: (fullPath: string) => void;
  onError?: (e: Error) => void;
  /** A path the watch will not take: a link to a folder, a symlink loop. Said once per path. */
  onRejected?: (fullPath: string, reason: string) => void;
  /** Every this many ms each folder is listed again: the net under any event the kernel dropped. */
  rescanMs: number;
}

/**
 * File events under a folder tree: one `fs.watch` (inotify on Linux) per folder, which names the
 * file of each event. Written here rather than taken from chokidar because chokidar 4 re-reads the
 * whole folder on every event, at most once a second per folder, which alone puts a second of
 * latency on an arrival, and at 2,000 files/s it never reported 543 of 20,000 renamed files
 * (`npm run bench -- watch`); @parcel/watcher needs a native build. A new folder is watched first
 * and then listed, so files written into it before its watch existed are found too, and a slow
 * periodic listing catches anything the kernel's event queue dropped.
 */
export class FolderEvents {
  #watchers = new Map<string, fs.FSWatcher>();
  #rejected = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly root: string,
    private readonly opts: FolderEventOptions,
  ) {}

  /** Watches the tree and reports every file already in it. */
  start(): void {
    this.#addFolder(this.root);
    this.#timer = setInterval(() => this.#rescan(), this.opts.rescanMs);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }

  #addFolder(dir: string): void {
    if (this.#closed || this.#watchers.has(dir) || (dir !== this.root && this.opts.ignore(dir))) return;
    try {
      const watcher = fs.watch(dir, { persistent: true }, (_type, name) => this.#event(dir, name?.toString()));
      watcher.on('error', () => this.#dropFolder(dir));
      this.#watchers.set(dir, watcher);
    } catch (e) {
      if (dir === this.root) throw e;
      return; // gone or unreadable already: nothing to watch
    }
    this.#list(dir);
  }

  #list(dir: string): void {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) this.#classify(path.join(dir, e.name), e.isSymbolicLink() ? undefined : e);
  }

  #event(dir: string, name: string | undefined): void {
    if (this.#closed) return;
    if (!name) {
      this.#list(dir); // the kernel did not say which file: look at them all
      return;
    }
    this.#classify(path.join(dir, name));
  }

  #classify(full: string, known?: fs.Dirent): void {
    if (this.opts.ignore(full)) return;
    let isDir: boolean;
    let isFile: boolean;
    if (known) {
      isDir = known.isDirectory();
      isFile = known.isFile();
    } else {
      let st: fs.Stats | undefined;
      let link = false;
      try {
        link = fs.lstatSync(full, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
        st = fs.statSync(full, { throwIfNoEntry: false });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        this.#reject(full, code === 'ELOOP' ? 'symlink loop' : `cannot read (${code ?? 'error'})`);
        return;
      }
      if (!st) {
        this.#dropFolder(full);
        this.#rejected.delete(full);
        this.opts.onGone?.(full);
        return;
      }
      // What the watch takes it may move (--move-done, --move-failed): it never descends into a
      // folder it was not given, so a link to one is refused rather than followed.
      if (link && st.isDirectory()) {
        this.#reject(full, 'a link to a folder: the watch does not follow it');
        return;
      }
      isDir = st.isDirectory();
      isFile = st.isFile();
    }
    if (isDir) this.#addFolder(full);
    else if (isFile) this.opts.onFile(full);
  }

  #reject(full: string, reason: string): void {
    if (this.#rejected.has(full)) return;
    this.#rejected.add(full);
    this.opts.onRejected?.(full, reason);
  }

  #dropFolder(dir: string): void {
    for (const [d, w] of this.#watchers) {
      if (d === dir || d.startsWith(dir + path.sep)) {
        w.close();
        this.#watchers.delete(d);
      }
    }
  }

  #rescan(): void {
    for (const dir of [...this.#watchers.keys()]) this.#list(dir);
  }
}
