import readline from 'node:readline/promises';
import { UsageError } from '../../errors';
import type { EditedRow, EditResult } from '../../db/row-edits';
import type { Output } from '../../ui/output';

/** What relabel, rm-rows and move-split share: ids from the command line, the question, the summary. */

/** More rows than this are confirmed on a terminal (unless --yes). */
export const ASK_ABOVE_ROWS = 5;

export interface EditFlags {
  dryRun?: boolean;
  yes?: boolean;
}

/** Row ids as given (`12 13 14`, or `12,13`): positive whole numbers, else a usage error naming the word. */
export function parseIds(words: readonly string[] | undefined): number[] {
  const ids: number[] = [];
  for (const word of (words ?? []).flatMap((w) => w.split(',')).filter((w) => w !== '')) {
    if (!/^\d+$/.test(word) || !Number.isSafeInteger(Number(word)) || Number(word) < 1) {
      throw new UsageError(`invalid row id "${word}"`, 'give row ids as listed by `mldb rows`');
    }
    ids.push(Number(word));
  }
  return ids;
}

/**
 * Asks before changing more than a handful of rows on a terminal; off a terminal (a script) the
 * edit goes ahead, as `--yes` makes it on one.
 */
export function confirmer(flags: EditFlags, verb: string): ((rows: EditedRow[]) => Promise<boolean>) | undefined {
  if (flags.yes || !process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return async (rows) => {
    if (rows.length <= ASK_ABOVE_ROWS) return true;
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`${verb} ${rows.length} rows? [y/N] `);
    rl.close();
    return /^y(es)?$/i.test(answer.trim());
  };
}

const VERBS: Record<EditResult['kind'], [string, string]> = {
  relabel: ['relabelled', 'would relabel'],
  remove: ['removed', 'would remove'],
  move: ['moved', 'would move'],
};

export function printEdit(r: EditResult, out: Output): void {
  const [done, would] = VERBS[r.kind];
  const to = r.to !== undefined ? ` to ${JSON.stringify(r.to)}` : '';
  const same = r.rows.length - r.changed;
  const kept = same > 0 ? ` (${same} already there)` : '';
  if (r.dryRun) {
    out.line(`${would} ${r.changed} row(s) of "${r.table}"${to}${kept}; nothing changed (--dry-run)`);
    for (const row of r.rows.slice(0, 20)) out.line(`  ${row.id}  ${row.label}  ${row.split}  ${row.source}`);
    if (r.rows.length > 20) out.line(`  … and ${r.rows.length - 20} more (--json lists them all)`);
    return;
  }
  const version = r.version !== undefined ? `: version ${r.version}` : ': no new version';
  out.line(`${done} ${r.changed} row(s) of "${r.table}"${to}${kept}${version}`);
}
