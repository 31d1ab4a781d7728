import { openTensorBoard, type EpochLogger } from '../../ml/tensorboard';
import type { BatchProgress, EpochMetrics, TrainingCallback } from '../../ml/train';
import type { Progress } from '../../ui/progress';
import { formatCount, formatDuration } from '../../ui/terminal';

/** One line per epoch; `etaSeconds` (time left for the remaining epochs) when any remain. */
export function epochLine(e: EpochMetrics, epochs: number, etaSeconds?: number): string {
  return (
    `epoch ${e.epoch}/${epochs}: loss ${e.loss.toFixed(4)} accuracy ${e.accuracy.toFixed(4)}` +
    (e.valLoss !== null ? ` val_loss ${e.valLoss.toFixed(4)} val_accuracy ${e.valAccuracy!.toFixed(4)}` : '') +
    ` · ${formatCount(e.samplesPerSecond)} samples/s · ${formatDuration(e.seconds)}` +
    (etaSeconds !== undefined && e.epoch < epochs ? ` · ETA ${formatDuration(etaSeconds)}` : '')
  );
}

export function batchLine(p: BatchProgress): string {
  return (
    `epoch ${p.epoch}/${p.epochs} · ${formatCount(p.done)}/${formatCount(p.samples)} · loss ` +
    `${p.loss.toFixed(4)} accuracy ${p.accuracy.toFixed(4)}` +
    ` · ${formatCount(p.samplesPerSecond)} samples/s · ETA ${formatDuration(p.etaSeconds)}`
  );
}

/**
 * What a person or a CI log sees of a run's epochs, as a training callback: the spinner's line
 * within an epoch, a line per epoch (with a changed learning rate said once), and the epoch
 * logged to TensorBoard when one is open.
 */
export class TrainingProgress implements TrainingCallback {
  #spent = 0;
  #previousRate: number | null = null;
  #board: EpochLogger | undefined;
  /** The epoch --unfreeze-at releases the frozen layers at (its learning rate changes for that reason). */
  releasedAt: number | null = null;

  /** `epochs`: the run's count, until the first batch says it (the options' own default). */
  constructor(
    private readonly progress: Progress,
    private readonly say: (line: string) => void,
    private epochs: number,
  ) {}

  /** Logs each epoch to TensorBoard from now on (it needs the engine's name, known once chosen). */
  openTensorBoard(dir: string, backend: string): void {
    const tb = openTensorBoard(dir, backend);
    if ('unavailable' in tb) this.say(`note: ${tb.unavailable}`);
    else this.#board = tb;
  }

  onBatchEnd(p: BatchProgress): void {
    this.epochs = p.epochs;
    this.progress.update(batchLine(p));
  }

  onEpochEnd(e: EpochMetrics): void {
    this.#spent += e.seconds;
    if (e.learningRate !== null && this.#previousRate !== null && e.learningRate !== this.#previousRate)
      this.say(
        `learning rate ${this.#previousRate} → ${e.learningRate} ` +
          (e.epoch === this.releasedAt ? '(frozen layers released)' : '(val_loss stopped improving)'),
      );
    this.#previousRate = e.learningRate;
    this.say(epochLine(e, this.epochs, (this.#spent / e.epoch) * (this.epochs - e.epoch)));
    this.#board?.epoch(e);
  }

  /** Closes the TensorBoard log; the loop calls it last. */
  dispose(): void {
    this.#board?.close();
    this.#board = undefined;
  }
}
