import { ARCHITECTURES } from '../ml/architectures/registry';
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

/** What the issue asks of onnxruntime against PyTorch per batch: simple_cnn at par, the rest at 0.8×. */
const target = (arch: string) => (arch === 'simple_cnn' ? 1.0 : 0.8);

export interface Comparison {
  arch: string;
  shape: [number, number, number];
  pytorch: number;
  onnxruntime: number;
  ratio: number;
}

/**
 * Median-batch samples/s of each architecture on onnxruntime and of its PyTorch replica
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
      }
      const [pytorch, onnxruntime] = [median(native), median(onnx)];
      results.push({ arch, shape, pytorch, onnxruntime, ratio: onnxruntime / pytorch });
      console.log(
        `  ${arch} at ${shape.join('×')}: PyTorch ${native.map((x) => x.toFixed(0)).join(', ')}; ` +
          `onnxruntime ${onnx.map((x) => x.toFixed(0)).join(', ')} samples/s`,
      );
    }
  }
  return results;
}

export function comparisonTable(results: Comparison[]): string {
  const archs = [...new Set(results.map((r) => r.arch))];
  const cell = (arch: string, shape: number[]) => {
    const r = results.find((x) => x.arch === arch && x.shape === shape)!;
    const mark = r.ratio >= target(arch) ? '' : ' *';
    return `${r.onnxruntime.toFixed(0)} / ${r.pytorch.toFixed(0)} = ${r.ratio.toFixed(2)}×${mark}`;
  };
  return [
    `onnxruntime / PyTorch training samples/s, batch ${BATCH}, median batch, random images ` +
      `(* below target: simple_cnn 1.0×, others 0.8×)`,
    renderTable(
      ['architecture', ...SIZES.map((s) => s.join('×'))],
      archs.map((a) => [a, ...SIZES.map((s) => cell(a, s))]),
      ['left', ...SIZES.map(() => 'right' as const)],
    ),
  ].join('\n');
}
