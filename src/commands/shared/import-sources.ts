import fs from 'node:fs';
import { archiveFormatOf, notImportable, openArchiveFile, openArchiveStream } from '../../ingest/archive';
import type { ImportSummary } from '../../ingest/import-pipeline';
import { openManifest } from '../../ingest/manifest';
import { UsageError } from '../../errors';
import type { CommandContext } from '../context';
import type { CommonImportOptions, ImportFlags } from './import-flags';

/**
 * What `mldb import TARGET` can read, as a table: the first entry that claims the target opens
 * it. A new source is a module under ingest/ that yields items, and one entry here.
 */
export interface ImportSourceKind {
  name: string;
  claims(target: string, flags: ImportFlags): boolean;
  import(ctx: CommandContext, target: string, flags: ImportFlags, options: CommonImportOptions): Promise<ImportSummary>;
}

const isFile = (target: string) => fs.statSync(target, { throwIfNoEntry: false })?.isFile() ?? false;

export const IMPORT_SOURCES: readonly ImportSourceKind[] = [
  {
    name: 'a folder listed by a CSV/TSV manifest (--manifest)',
    claims: (_target, flags) => flags.manifest !== undefined,
    import: async (ctx, target, flags, options) => {
      if (target === '-') throw new UsageError('--manifest reads files from a folder, not stdin', 'pass the folder');
      return ctx.mldb().insertFrom(openManifest(flags.manifest!, target), options);
    },
  },
  {
    name: 'a tar or tar.gz stream on standard input (-)',
    claims: (target) => target === '-',
    import: async (ctx, _target, _flags, options) =>
      ctx.mldb().insertFrom(await openArchiveStream(process.stdin, options), options),
  },
  {
    name: 'a .tar, .tar.gz or .zip archive',
    claims: (target) => isFile(target),
    import: async (ctx, target, _flags, options) => {
      const format = archiveFormatOf(target);
      if (!format) notImportable(target);
      return ctx.mldb().insertFrom(await openArchiveFile(target, format, options), options);
    },
  },
  {
    name: 'a folder of DIR/<label>/… or DIR/<split>/<label>/…',
    claims: () => true,
    import: (ctx, target, _flags, options) => ctx.mldb().insertFolder(target, options),
  },
];

/** The source that reads `target`: the first entry of the table that claims it. */
export function importSourceFor(target: string, flags: ImportFlags): ImportSourceKind {
  return IMPORT_SOURCES.find((s) => s.claims(target, flags))!;
}
