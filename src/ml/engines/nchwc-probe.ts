import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { GraphBuilder } from '../onnx/graph';
import { NCHWC_DOMAIN } from '../onnx/nchwc';
import type { Ort } from '../onnxruntime';

/**
 * The channel block of onnxruntime's NCHWc kernels on this machine (16 with AVX-512, 8 with AVX2;
 * 0 where it has none), read from onnxruntime itself: it is asked to optimise a 1×1 convolution
 * whose kernel numbers its own entries, and the reordered kernel it writes out shows how many
 * output channels make a block. onnxruntime exposes the block size no other way, and guessing it
 * from CPU flags would break where its choice differs. `blocked` false (MLDB_ONNX_NCHWC=0): none.
 */

const CHANNELS = 64;
let probed: Promise<number> | undefined;

export function nchwcBlockSize(ort: Ort, blocked = true): Promise<number> {
  if (!blocked) return Promise.resolve(0);
  probed ??= probe(ort).catch(() => 0);
  return probed;
}

async function probe(ort: Ort): Promise<number> {
  const g = new GraphBuilder();
  g.input('x', [1, CHANNELS, 4, 4]);
  const kernel = Float32Array.from({ length: CHANNELS * CHANNELS }, (_, k) => k);
  g.floats('w', [CHANNELS, CHANNELS, 1, 1], kernel);
  g.node('Conv', ['x', 'w'], [], 'y');
  g.output('y', [1, CHANNELS, 4, 4]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-nchwc-'));
  const file = path.join(dir, 'optimized.onnx');
  try {
    const session = await ort.InferenceSession.create(g.encode('nchwc_probe'), {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: file,
      // Writing out a model optimised for this machine draws a warning: expected here.
      logSeverityLevel: 3,
    });
    await session.release();
    const optimized = onnx.ModelProto.decode(fs.readFileSync(file)).graph!;
    const conv = optimized.node?.find((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv');
    const reordered = optimized.initializer?.find((t) => t.name === conv?.input?.[1]);
    if (!reordered?.rawData) return 0;
    const raw = reordered.rawData;
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    // OIHWBiBo: the first block runs over output channels o = 0 … B−1 of input channel 0 (o·64).
    let block = 1;
    while (block < CHANNELS && values[block] === block * CHANNELS) block++;
    return [4, 8, 16, 32].includes(block) ? block : 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
