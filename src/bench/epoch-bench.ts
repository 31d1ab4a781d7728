import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { MlDb } from '../mldb';
import { ARCHITECTURES } from '../ml/architectures/registry';
import type { TrainingBackendChoice } from '../ml/backend-names';
import type { EpochPhases } from '../ml/callbacks';
import { tf } from '../ml/tf';
import { trainModel } from '../ml/train';
import { renderTable } from '../ui/table';
import { pytorchReplica } from './native-reference';
import { median } from './server';
import { colourNoiseSource } from './synthetic-images';
import { BATCH } from './train-throughput';

type Shape = [number, number, number];

/** The second epoch of a 2-epoch run of simple_cnn (the first also opens the sessions): its split. */
interface EpochRun {
  seconds: number;
  phases: EpochPhases;
  rows: number;
  /** The engine it ran on. */
  backend: string;
}

/** The engines whole epochs are timed on: onnxruntime named, and what `auto` takes (the oneDNN addon here). */
const ENGINES: TrainingBackendChoice[] = ['onnxruntime', 'auto'];

/**
 * `MLDB_BENCH_SHORT=1`: one run per measurement instead of two, smaller colour tables and 5
 * epochs of the memory watch instead of 20: the same lines, for a quick check on a busy machine.
 */
const SHORT = process.env.MLDB_BENCH_SHORT === '1';
const MEMORY_EPOCHS = SHORT ? 5 : 20;
const ROUNDS = SHORT ? 1 : 2;
/** Colour tables of random images: a few thousand rows at CIFAR's size, fewer at 64×64. */
const COLOUR_ROWS: Record<number, number> = SHORT ? { 32: 1000, 64: 400 } : { 32: 3000, 64: 1200 };

/** `mldb train` as a user runs it (default flags but the engine named), the second epoch of two. */
async function secondEpoch(
  mldb: MlDb,
  table: string,
  o: { spinning?: boolean; backend?: TrainingBackendChoice } = {},
): Promise<EpochRun> {
  const { spinning, backend = 'onnxruntime' } = o;
  const phases: EpochPhases[] = [];
  const r = await trainModel(await mldb.connection(), {
    table,
    model: 'simple_cnn',
    epochs: 2,
    backend,
    onnx: spinning === undefined ? mldb.settings.onnx : { ...mldb.settings.onnx, spinning },
    callbacks: [{ onEpochPhases: (p) => void phases.push(p) }],
  });
  r.model.dispose();
  // Whole epochs as a user sees them: reading, stepping, batch-norm statistics, validation.
  return { seconds: r.epochs[1].seconds, phases: phases[1], rows: r.split.train, backend: r.backend };
}

/** The run of median seconds: its phases add up to the seconds shown beside them. */
function medianRun(runs: EpochRun[]): EpochRun {
  const m = median(runs.map((r) => r.seconds));
  return runs.find((r) => r.seconds === m)!;
}

/** Epoch seconds of simple_cnn on the table, with onnxruntime's threads spinning or not (alternated). */
async function spinningEpochs(mldb: MlDb, table: string) {
  const runs: Record<'spinning' | 'sleeping', EpochRun[]> = { spinning: [], sleeping: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ['sleeping', 'spinning'] as const)
      runs[mode].push(await secondEpoch(mldb, table, { spinning: mode === 'spinning' }));
  }
  return { spinning: medianRun(runs.spinning), sleeping: medianRun(runs.sleeping) };
}

/**
 * Resident memory and tfjs tensors after each of `epochs` epochs on `backend` (flat, or leaking),
 * and the peak: `mldb train` in a process of its own (train-memory.ts), as a user runs it.
 */
function memoryOverEpochs(url: string, table: string, epochs: number, backend: TrainingBackendChoice) {
  const script = path.join(__dirname, 'train-memory.js');
  const r = spawnSync(process.execPath, [script, url, table, String(epochs), backend], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the memory watch's training failed: ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { rss: number[]; tensors: number[]; peakMb: number };
}

/** PyTorch's replica of simple_cnn at `shape`, measured now: its median step and peak memory. */
function pytorchAt(shape: Shape, seconds: number) {
  const model = ARCHITECTURES.get('simple_cnn')!.build(tf, { inputShape: shape, numClasses: 10, seed: 1 });
  const reference = pytorchReplica(model, BATCH, seconds);
  model.dispose();
  return reference;
}

/** A table of `rows` random colour images of `size`×`size`, made once (an import of what exists adds nothing). */
async function colourTable(mldb: MlDb, size: number): Promise<string> {
  const table = `bench_train_rgb${size}`;
  await mldb.insertFrom(colourNoiseSource(size, COLOUR_ROWS[size]), { table, create: true });
  return table;
}

const s = (x: number) => `${x.toFixed(2)} s`;

/**
 * Whole epochs of `mldb train` (simple_cnn, defaults: validation and precise batch-norm included)
 * at 20×20×1 (filedata, already imported as `table`), 32×32×3 and 64×64×3 (random colour images),
 * split into steps, precise batch-norm's pass, validation and the rest, against PyTorch's bare loop
 * over as many rows (its median step × the batches, measured now); then resident memory over 20
 * epochs on filedata against PyTorch's peak for the same network and batch.
 */
export async function epochBench(mldb: MlDb, url: string, table: string, shape: Shape): Promise<void> {
  const filedata = await spinningEpochs(mldb, table);
  console.log(
    `simple_cnn, a whole epoch on filedata (${filedata.spinning.rows} training rows; reader and server on the same ` +
      `cores; the second epoch of a run, median of ${ROUNDS}): ${s(filedata.spinning.seconds)} with onnxruntime's ` +
      `threads spinning between ops (the default), ${s(filedata.sleeping.seconds)} sleeping (MLDB_ONNX_SPINNING=0)`,
  );
  // Per size, the median run on each engine (the engines alternated within a round).
  const sizes: Array<{ shape: Shape; table: string; runs: EpochRun[] }> = [];
  const onEngines = async (t: string, first?: EpochRun) => {
    const runs = new Map<TrainingBackendChoice, EpochRun[]>(ENGINES.map((e) => [e, []]));
    for (let round = 0; round < ROUNDS; round++)
      for (const backend of ENGINES)
        if (!(first && backend === 'onnxruntime')) runs.get(backend)!.push(await secondEpoch(mldb, t, { backend }));
    return ENGINES.map((e) => (first && e === 'onnxruntime' ? first : medianRun(runs.get(e)!)));
  };
  sizes.push({ shape, table: `${table} (filedata)`, runs: await onEngines(table, filedata.spinning) });
  for (const size of [32, 64]) {
    const colour = await colourTable(mldb, size);
    sizes.push({ shape: [size, size, 3], table: `${colour} (random colour)`, runs: await onEngines(colour) });
  }
  const rows: string[][] = [];
  let peakRssMb: number | null = null;
  for (const size of sizes) {
    const reference = pytorchAt(size.shape, SHORT ? 2 : 4);
    if ('unavailable' in reference) {
      console.log(`(${reference.unavailable})`);
      break;
    }
    if (size === sizes[0]) peakRssMb = reference.peakRssMb;
    for (const run of size.runs) {
      // PyTorch's bare loop: the same rows in batches of 64 at its median step, nothing else.
      const bare = Math.ceil(run.rows / BATCH) * (reference.stepMs / 1000);
      const { seconds, steps, preciseBn, validation } = run.phases;
      rows.push([
        size.shape.join('×'),
        size.table,
        run.backend,
        String(run.rows),
        s(seconds),
        s(steps),
        s(preciseBn),
        s(validation),
        s(seconds - steps - preciseBn - validation),
        `${s(bare)} (${reference.stepMs.toFixed(1)} ms a step)`,
        `${(bare / seconds).toFixed(2)}×${bare / seconds >= 0.8 ? '' : ' *'}`,
      ]);
    }
  }
  if (rows.length === sizes.length * ENGINES.length) {
    console.log(
      `\nwhole epochs of \`mldb train\` (simple_cnn, batch ${BATCH}, default flags: precise batch-norm and ` +
        `validation included; the second epoch of a 2-epoch run, the median of ${ROUNDS}), against PyTorch's bare ` +
        `loop over the same training rows (its median step × the batches, measured now; * below the 0.8× target):`,
    );
    console.log(
      renderTable(
        [
          'size',
          'table',
          'engine',
          'training rows',
          'epoch',
          'steps',
          'precise BN',
          'validation',
          'the rest',
          "PyTorch's bare loop",
          'mldb / PyTorch speed',
        ],
        rows,
        ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
      ),
    );
  }
  const mb = (x: number) => `${x.toFixed(0)} MB`;
  const after = [1, 5, MEMORY_EPOCHS].filter((e, i, all) => all.indexOf(e) === i);
  for (const backend of ENGINES) {
    const memory = memoryOverEpochs(url, table, MEMORY_EPOCHS, backend);
    const engine = backend === 'auto' ? 'auto (oneDNN where it loads)' : backend;
    console.log(
      `memory over ${MEMORY_EPOCHS} epochs of simple_cnn on ${engine} (\`mldb train\` in a process of its own): ` +
        `resident ${after.map((e) => `${mb(memory.rss[e - 1])} after ${e === 1 ? 'epoch 1' : e}`).join(', ')}, ` +
        `peak ${mb(memory.peakMb)}; tfjs tensors ${memory.tensors[0]} → ${memory.tensors[MEMORY_EPOCHS - 1]}`,
    );
    if (peakRssMb !== null) {
      console.log(
        `  against PyTorch's peak for the same network and batch at ${shape.join('×')} (its process's VmHWM ` +
          `after its steps): ${mb(peakRssMb)}, so mldb's peak is ${(memory.peakMb / peakRssMb).toFixed(2)}× it ` +
          `(target ≤ 1.5×)`,
      );
    }
  }
}
