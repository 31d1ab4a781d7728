import { UsageError } from '../../errors';
import { TRAINING_OPTION_TABLE, type TrainingOptionName, type TrainingOptions } from '../../ml/training-options';
import type { CommandContext } from '../context';

/** What `train --like run:ID` takes from that run: its table at its version, its row set and settings. */
export interface LikeRun {
  runId: number;
  /** `TABLE@VERSION`: the rows, labels and splits the run read, whatever was edited since. */
  table: string;
  rowsUntil: number;
  model: string;
  options: Partial<TrainingOptions>;
}

export async function likeRun(ctx: CommandContext, text: string): Promise<LikeRun> {
  const m = /^(?:run:)?(\d{1,15})$/.exec(text);
  if (!m) throw new UsageError(`invalid --like "${text}"`, 'pass run:ID (see `mldb runs`)');
  const record = await ctx.mldb().run(Number(m[1]));
  if (record.tableVersion === null || record.rowsUntil === null) {
    throw new UsageError(
      `run ${record.id} did not record its table version (it was trained before tables had versions)`,
      `use --rows-until run:${record.id} for its row set as the table holds it now`,
    );
  }
  // The settings that make the run what it was (identity options) and the backend it asked for.
  const options: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(TRAINING_OPTION_TABLE) as [TrainingOptionName, { identity: boolean }][]) {
    const value = record.hyperparameters[name];
    if ((spec.identity || name === 'backend') && value !== undefined && value !== null) options[name] = value;
  }
  return {
    runId: record.id,
    table: `${record.dataset}@${record.tableVersion}`,
    rowsUntil: record.rowsUntil,
    model: record.architecture,
    options: options as Partial<TrainingOptions>,
  };
}
