import Table from 'cli-table3';
import { isInteractive, printable } from './terminal';

/**
 * Renders rows as a cli-table3 table; plain borders and no colour when not interactive. Every
 * cell is escaped (printable): labels, file names and sources come from users, and a control
 * character in one must not move the cursor, clear the screen or forge a line of the table.
 */
export function renderTable(
  head: string[],
  /** A cell of several lines is an array: each line escaped, a newline between them. */
  rows: Array<Array<string | number | string[]>>,
  align?: Array<'left' | 'right'>,
): string {
  const table = new Table({
    head,
    style: isInteractive(process.stdout) ? { head: ['cyan'] } : { head: [], border: [] },
    colAligns: align ?? [],
    // One rule under the header only: row separators double the height of long listings.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of rows)
    table.push(r.map((cell) => (Array.isArray(cell) ? cell.map(printable).join('\n') : printable(String(cell)))));
  return table.toString();
}
