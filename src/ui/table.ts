import Table from 'cli-table3';
import { isInteractive } from './terminal';

/** Renders rows as a cli-table3 table; plain borders and no colour when not interactive. */
export function renderTable(
  head: string[],
  rows: Array<Array<string | number>>,
  align?: Array<'left' | 'right'>,
): string {
  const table = new Table({
    head,
    style: isInteractive(process.stdout) ? { head: ['cyan'] } : { head: [], border: [] },
    colAligns: align ?? [],
    // One rule under the header only: row separators double the height of long listings.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of rows) table.push(r.map(String));
  return table.toString();
}
