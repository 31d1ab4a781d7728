import fs from 'node:fs';
import { UsageError } from '../../errors';

/** How the recipe, imbalance and subset flags' text becomes their options' values (training-flags.ts). */

/** "a,b,c" → ["a", "b", "c"]; empty items are dropped, so the schema names an empty list. */
export function labelList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * --class-weight: balanced and none as they are; anything else is a file holding a JSON object of
 * weights by label (its values are checked by the option's schema, its labels against the table's).
 */
export function classWeightArgument(text: string): unknown {
  if (text === 'balanced' || text === 'none') return text;
  let body: string;
  try {
    body = fs.readFileSync(text, 'utf8');
  } catch {
    throw new UsageError(
      `--class-weight: no file at "${text}"`,
      'use balanced, none, or a JSON file such as {"cat": 1, "dog": 3}',
      { field: 'classWeight' },
    );
  }
  try {
    return JSON.parse(body) as unknown;
  } catch (e) {
    throw new UsageError(
      `--class-weight: "${text}" is not JSON (${(e as Error).message.split('\n')[0]})`,
      'write an object of weights by label, such as {"cat": 1, "dog": 3}',
      { field: 'classWeight' },
    );
  }
}
