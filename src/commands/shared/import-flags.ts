import type { Split } from '../../db/enums';
import { validateSplit } from '../../db/row-selection';
import type { ImportOptions } from '../../ingest/import-pipeline';
import type { Layout } from '../../ingest/layout';
import type { ResizeMode } from '../../image-shape';
import type { CommandContext } from '../context';
import { COMMAND_DEFAULTS } from './defaults';
import { parseFraction, parseNumber, parsePositiveInt, parseShape } from '../options';
import { MAX_IMPORT_THREADS } from '../../config';

/** The flags of `import` and `import --watch`, and the options both build from them. */

export interface ImportFlags {
  table?: string;
  create?: boolean;
  size?: string;
  channels?: string;
  testFraction?: string;
  validationFraction?: string;
  /** One of RESIZE_MODES (commander checks the choice). */
  resize?: ResizeMode;
  split?: string;
  layout?: string;
  manifest?: string;
  watch?: boolean;
  settle?: string;
  batchFiles?: string;
  batchWait?: string;
  moveDone?: string;
  moveFailed?: string;
  maxMegapixels?: string;
  threads?: string;
}

export interface CommonImportOptions extends ImportOptions {
  layout: Layout;
}

export function commonOptions(ctx: CommandContext, flags: ImportFlags): CommonImportOptions {
  const layout = (flags.layout ?? 'auto') as Layout;
  const split: Split | undefined = validateSplit(flags.split);
  return {
    table: flags.table ?? ctx.config().table,
    create: flags.create,
    shape: parseShape(flags.size, flags.channels),
    testFraction: parseFraction('--test-fraction', flags.testFraction),
    validationFraction: parseFraction('--validation-fraction', flags.validationFraction),
    resize: flags.resize,
    split,
    layout,
    threads: parsePositiveInt('--threads', flags.threads, { max: MAX_IMPORT_THREADS }),
    maxPixels:
      parseNumber('--max-megapixels', flags.maxMegapixels ?? String(COMMAND_DEFAULTS.maxMegapixels), {
        min: 0.001,
        max: 10_000,
      })! * 1e6,
  };
}
