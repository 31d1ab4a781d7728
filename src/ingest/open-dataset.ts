import type { Db } from '../db/db';
import { createDataset, findDataset, type Dataset } from '../db/registry';
import { NotFoundError, UsageError } from '../errors';
import type { ImageShape } from '../image-shape';
import type { ImportOptions } from './import-types';

export function definedParts(shape: Partial<ImageShape> | undefined): Partial<ImageShape> {
  return Object.fromEntries(Object.entries(shape ?? {}).filter(([, v]) => v !== undefined));
}

/** The shape the caller asks for must agree with every part the dataset already has. */
function checkRequestedShape(table: string, have: Partial<ImageShape>, want: Partial<ImageShape> | undefined): void {
  const clash = (['height', 'width', 'channels'] as const).find(
    (k) => want?.[k] !== undefined && have[k] !== undefined && want[k] !== have[k],
  );
  if (clash) {
    const shown = (p: Partial<ImageShape>) => `${p.height ?? '?'}x${p.width ?? '?'}x${p.channels ?? '?'}`;
    throw new UsageError(
      `table "${table}" stores images at ${shown(have)}, not the requested ` +
        `${shown({ ...have, ...definedParts(want) })}`,
      'leave the shape out, or import into a new table',
      { field: clash === 'channels' ? 'channels' : 'size', subject: table },
    );
  }
}

/**
 * The dataset an import writes to: checked against the options, or created with --create. Several
 * imports may create the same table at once: whoever loses the race (the table or its registry
 * row appeared meanwhile) waits for the winner's registry row and uses that dataset.
 */
export async function openDataset(db: Db, opts: ImportOptions): Promise<Dataset> {
  for (let attempt = 1; ; attempt++) {
    const existing = await findDataset(db, opts.table);
    if (existing) return checkExisting(existing, opts);
    if (!opts.create) {
      throw new NotFoundError(`no dataset table "${opts.table}"`, 'create it first', {
        reason: 'dataset-missing-import',
        subject: opts.table,
      });
    }
    try {
      return await createDataset(db, opts.table, {
        shape: definedParts(opts.shape),
        testFraction: opts.testFraction,
        validationFraction: opts.validationFraction,
        resize: opts.resize,
      });
    } catch (e) {
      if (attempt >= CREATE_ATTEMPTS || !lostCreateRace(e)) throw e;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/** Tries to see another process's new table through, before "already exists" is believed. */
const CREATE_ATTEMPTS = 8;

function lostCreateRace(e: unknown): boolean {
  const reason = (e as { reason?: string }).reason;
  if (reason === 'dataset-exists' || reason === 'table-exists-foreign') return true;
  const code = ((e as { cause?: { code?: string } }).cause ?? (e as { code?: string }))?.code;
  return code === 'ER_TABLE_EXISTS_ERROR' || code === 'ER_DUP_ENTRY';
}

function checkExisting(existing: Dataset, opts: ImportOptions): Dataset {
  checkRequestedShape(opts.table, existing.shape ?? existing.shapeParts, opts.shape);
  if (
    (opts.testFraction !== undefined && opts.testFraction !== existing.testFraction) ||
    (opts.validationFraction !== undefined && opts.validationFraction !== existing.validationFraction)
  ) {
    throw new UsageError(
      `table "${opts.table}" already splits test ${existing.testFraction} / validation ` +
        `${existing.validationFraction}`,
      'split fractions are fixed when a table is created: leave them out, or import into a new table',
      { field: 'testFraction', subject: opts.table },
    );
  }
  if (opts.resize !== undefined && opts.resize !== existing.resize) {
    throw new UsageError(
      `table "${opts.table}" already resizes by ${existing.resize}, not ${String(opts.resize)}`,
      'the resize mode is fixed when a table is created: leave --resize out, or import into a new table',
      { field: 'resize', subject: opts.table },
    );
  }
  return existing;
}
