import crypto from 'node:crypto';
import type { Db } from '../db/db';
import { ensureStudy, findStudy, type StudyRow } from '../db/studies';
import { gridParams } from './samplers';
import type { StudySpec } from './types';

/** A study as a worker holds it: its row's id and the spec it was opened with. */
export interface Study {
  id: number;
  key: string;
  spec: StudySpec;
}

/**
 * A study's identity: a hash of its spec in a stable key order, so the same plan started on any
 * machine, in any order of its keys, joins the same study.
 */
export function studyKey(spec: StudySpec): string {
  const stable = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(stable)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, stable((v as Record<string, unknown>)[k])]),
          )
        : v;
  return crypto
    .createHash('sha256')
    .update(JSON.stringify(stable(spec)))
    .digest('hex');
}

function studyFields(spec: StudySpec): Omit<StudyRow, 'id' | 'createdAt'> {
  return {
    key: studyKey(spec),
    name: spec.name,
    sampler: spec.sampler,
    pruner: spec.pruner,
    objective: spec.objective,
    direction: spec.direction,
    trials: spec.trials,
    spec: JSON.stringify(spec),
  };
}

/** Creates the study (a grid's trials queued) or joins it when another worker already did. */
export async function openStudy(db: Db, spec: StudySpec): Promise<Study> {
  const fields = studyFields(spec);
  const grid = spec.sampler === 'grid' ? gridParams(spec.space).map((p) => JSON.stringify(p)) : null;
  const row = await ensureStudy(db, fields, grid);
  return { id: row.id, key: row.key, spec };
}

/** The study of this spec if some worker created it; nothing is written (a dry run). */
export async function existingStudy(db: Db, spec: StudySpec): Promise<Study | null> {
  const row = await findStudy(db, studyKey(spec));
  return row ? { id: row.id, key: row.key, spec } : null;
}
