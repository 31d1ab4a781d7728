import { UNFREEZE_LR_SCALE } from '../../ml/training-options';

/**
 * How `train` and `runs show` say what a run started from, from its recorded settings (the options
 * as given, and what ml/start-from.ts's recordedStart kept): nothing for a run from scratch.
 */
export function startLines(settings: Record<string, unknown>): string[] {
  const lines: string[] = [];
  if (typeof settings.initModel === 'string') {
    const given = settings.initFrom !== settings.initModel ? ` (--init-from ${String(settings.initFrom)})` : '';
    const head =
      typeof settings.headRebuilt === 'string'
        ? `; head ${settings.headRebuilt} rebuilt for this table's labels (the model's differ)`
        : '';
    lines.push(`started from ${settings.initModel}${given}: ${String(settings.layersCopied)} layers copied${head}`);
  }
  const frozen = settings.frozenLayers;
  if (Array.isArray(frozen) && frozen.length > 0) {
    const which = frozen.length === 1 ? frozen[0] : `${frozen[0]} … ${frozen[frozen.length - 1]}`;
    const until =
      typeof settings.unfreezeAt === 'number'
        ? `, released at epoch ${settings.unfreezeAt} (learning rate × ${UNFREEZE_LR_SCALE})`
        : ', for the whole run';
    lines.push(`frozen: ${frozen.length} layer${frozen.length === 1 ? '' : 's'} (${which})${until}`);
  }
  return lines;
}
