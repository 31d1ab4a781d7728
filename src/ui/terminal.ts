import path from 'node:path';

/**
 * Whether to draw spinners and colour. Never when stdout/stderr is not a terminal, when CI is
 * set, or when NO_COLOR is set: logs and `--json` consumers get plain text.
 */
export function isInteractive(stream: NodeJS.WriteStream = process.stderr, env = process.env): boolean {
  return Boolean(stream.isTTY) && !env.CI && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A path relative to the working directory when it lies inside it: shorter to copy. */
export function shortPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** A path as a shell argument: quoted only when it needs to be. */
export function quote(p: string): string {
  return /^[\w./:@+-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

/** Four decimals, or `missing` for a value that does not exist (no validation, no test split). */
export function fixed4(x: number | null | undefined, missing = '-'): string {
  return x === null || x === undefined ? missing : x.toFixed(4);
}

export { printable } from '../printable';
