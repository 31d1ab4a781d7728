import path from 'node:path';
import type { LabelConflict, LabelRespelling } from '../../ingest/import-pipeline';
import { printable } from '../../ui/terminal';

/** A path as the user gave it: relative to here when it is under here. */
export function shown(p: string): string {
  return path.isAbsolute(p) ? path.relative(process.cwd(), p) || p : p;
}

/** One line per conflict: the same image under another label, kept as it was (import, watch, promote). */
export function conflictLine(c: LabelConflict): string {
  return printable(
    `  label conflict ${shown(c.path)} (${c.label}): same image as ` +
      `${c.existingSource} (${c.existingLabel}), kept as ${c.existingLabel}`,
  );
}

/** One line per label stored under another spelling than its source gave (import and the watch). */
export function respellingLine(r: LabelRespelling): string {
  return printable(
    `  label ${JSON.stringify(r.from)} stored as ${JSON.stringify(r.to)} ` +
      '(labels are kept without outer white space, in Unicode NFC)',
  );
}
