/** Labels longer than the label column (VARCHAR(191)) are refused rather than truncated by the server. */
export const MAX_LABEL_LENGTH = 191;

/**
 * The one spelling a label is stored under, whatever source it comes from: outer white space
 * trimmed, and Unicode in NFC. The server's collation ignores trailing spaces (`seven` and
 * `seven ` are one label to it, two to JavaScript), and a file system may hand over `café` in
 * either normal form (macOS writes NFD): two spellings of one name would be two classes that
 * print alike, or one class that JavaScript and the server count differently.
 */
export function canonicalLabel(raw: string): string {
  return raw.normalize('NFC').trim();
}

/** Numeric labels sort as numbers ("2" before "10"), others by code point: class-index order. */
export function compareLabels(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Characters a label may hold that a folder name cannot (or should not: `%` itself, so that the
 * mapping reverses). Control characters, separators and the characters Windows refuses.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const UNSAFE_IN_FOLDER = /[\x00-\x1f\x7f/\\:*?"<>|%]/g;

function escapeChar(c: string): string {
  return `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * The folder a label is exported to: unsafe characters percent-encoded, and a leading `.` too
 * (hidden folders are skipped by import), so that different labels never share a folder
 * (`cat:1`, `cat?1` and `cat_1` stay apart) and `folderToLabel` gives the label back exactly.
 */
export function labelToFolder(label: string): string {
  const escaped = label.replace(UNSAFE_IN_FOLDER, escapeChar);
  if (escaped === '') return '%'; // no import makes an empty label; this keeps the row inside its folder
  return escaped.startsWith('.') ? `%2E${escaped.slice(1)}` : escaped;
}

/**
 * The label a folder name stands for: the escapes `labelToFolder` writes are decoded; any other
 * `%` text (`100%`, `a%20b`) is kept as it is, so ordinary folder names read as before.
 */
export function folderToLabel(name: string): string {
  return name.replace(/%([0-9A-F]{2})/g, (all, hex: string, offset: number) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return c.match(UNSAFE_IN_FOLDER) || (c === '.' && offset === 0) ? c : all;
  });
}
