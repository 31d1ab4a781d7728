import { ARCHITECTURES } from '../ml/architectures/registry';
import { loadOneDnn } from '../ml/onednn/binding';
import { planNetwork } from '../ml/onednn/plan';
import { tf } from '../ml/tf';
import { renderTable } from '../ui/table';
import { pytorchReplica } from './native-reference';
import { median } from './server';
import { BATCH, randomRows, samplesPerSecond } from './train-throughput';

/** The image sizes the comparison covers: filedata's, CIFAR's, and a larger colour one. */
export const SIZES: Array<[number, number, number]> = [
  [20, 20, 1],
  [32, 32, 3],
  [64, 64, 3],
];

/** What the issue asks of mldb against PyTorch per batch: simple_cnn at par, the rest at 0.8×. */
const target = (arch: string) => (arch === 'simple_cnn' ? 1.0 : 0.8);

export interface Comparison {
  arch: string;
  shape: [number, number, number];
  pytorch: number;
  onnxruntime: number;
  ratio: number;
  /** mldb's oneDNN addon, where it runs the network (what `--backend auto` then trains on); else null. */
  onednn: number | null;
  onednnRatio: number | null;
}

/** Whether mldb's oneDNN addon loads here and runs `arch`. */
function oneDnnRuns(arch: string, shape: [number, number, number]): boolean {
  if (!('binding' in loadOneDnn())) return false;
  const model = ARCHITECTURES.get(arch)!.build(tf, { inputShape: shape, numClasses: 10, seed: 1 });
  const runs = !('unsupported' in planNetwork(model));
  model.dispose();
  return runs;
}

/**
 * Median-batch samples/s of each architecture on onnxruntime, on mldb's oneDNN addon where it runs
 * the network, and of its PyTorch replica
 * (pytorch-replica.py: same layers, batch and optimizer, as many threads) on random images at each
 * size, alternated `rounds` times (the shared machine's speed drifts; a ratio within one round is
 * the comparable figure), medians over the rounds. Null where PyTorch is not installed.
 */
export async function compareWithPytorch(
  archs: string[],
  rounds: number,
  seconds: number,
): Promise<Comparison[] | null> {
  const results: Comparison[] = [];
  for (const shape of SIZES) {
    const rows = randomRows(shape, 10);
    for (const arch of archs) {
      const native: number[] = [];
      const onnx: number[] = [];
      const onednn: number[] | null = oneDnnRuns(arch, shape) ? [] : null;
      for (let round = 0; round < rounds; round++) {
        const model = ARCHITECTURES.get(arch)!.build(tf, { inputShape: shape, numClasses: 10, seed: 1 });
        const reference = pytorchReplica(model, BATCH, seconds);
        model.dispose();
        if ('unavailable' in reference) {
          console.log(`(${reference.unavailable})`);
          return null;
        }
        native.push(reference.samplesPerSecond);
        onnx.push(await samplesPerSecond(arch, 'onnxruntime', rows, 5, seconds));
        onednn?.push(await samplesPerSecond(arch, 'onednn', rows, 5, seconds));
      }
      const [pytorch, onnxruntime] = [median(native), median(onnx)];
      const onednnRate = onednn && median(onednn);
      results.push({
        arch,
        shape,
        pytorch,
        onnxruntime,
        ratio: onnxruntime / pytorch,
        onednn: onednnRate,
        onednnRatio: onednnRate && onednnRate / pytorch,
      });
      const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
      console.log(
        `  ${arch} at ${shape.join('×')}: PyTorch ${list(native)}; onnxruntime ${list(onnx)}` +
          `${onednn ? `; oneDNN ${list(onednn)}` : ''} samples/s`,
      );
    }
  }
  return results;
}

/** The ratio `mldb train --backend auto` gets: oneDNN's where the addon runs the network, else onnxruntime's. */
export const autoRatio = (r: Comparison) => r.onednnRatio ?? r.ratio;

export function comparisonTable(results: Comparison[]): string {
  const archs = [...new Set(results.map((r) => r.arch))];
  const find = (arch: string, shape: number[]) => results.find((x) => x.arch === arch && x.shape === shape)!;
  const cell = (arch: string, rate: number, pytorch: number) => {
    const ratio = rate / pytorch;
    return `${rate.toFixed(0)} / ${pytorch.toFixed(0)} = ${ratio.toFixed(2)}×${ratio >= target(arch) ? '' : ' *'}`;
  };
  const table = (title: string, rate: (r: Comparison) => number | null) =>
    [
      `${title} / PyTorch training samples/s, batch ${BATCH}, median batch, random images ` +
        `(* below target: simple_cnn 1.0×, others 0.8×; — the engine does not run the network)`,
      renderTable(
        ['architecture', ...SIZES.map((s) => s.join('×'))],
        archs.map((a) => [
          a,
          ...SIZES.map((s) => {
            const r = find(a, s);
            const value = rate(r);
            return value === null ? '—' : cell(a, value, r.pytorch);
          }),
        ]),
        ['left', ...SIZES.map(() => 'right' as const)],
      ),
    ].join('\n');
  const withOneDnn = results.some((r) => r.onednn !== null);
  return [
    table('onnxruntime', (r) => r.onnxruntime),
    ...(withOneDnn
      ? ['', table('oneDNN (mldb’s addon; what --backend auto takes where it runs)', (r) => r.onednn)]
      : []),
  ].join('\n');
}
