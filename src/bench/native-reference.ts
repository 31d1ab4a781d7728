import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { tf } from '../ml/tf';

/**
 * PyTorch's training speed for an mldb network on this machine, measured now (Debian's
 * python3-torch, as many threads as cores), or why not: the native framework a user would
 * otherwise pick, which `npm run bench -- train` holds the onnxruntime engine to. The network goes
 * to PyTorch as its layer list (layerSpec), from which pytorch-replica.py builds the same layers.
 * Never a dependency of mldb.
 */
const SCRIPT = path.resolve(__dirname, '..', '..', 'src', 'bench', 'pytorch-replica.py');

export interface NativeReference {
  torch: string;
  threads: number;
  stepMs: number;
  samplesPerSecond: number;
  /** The replica's peak resident memory after its steps (MiB): interpreter, torch, network, batch. */
  peakRssMb: number;
}

function python(): string | null {
  // Debian's interpreter has its python3-torch; a PATH python3 (pyenv, a venv) may not.
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(candidate, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return candidate;
  }
  return null;
}

interface SerialisedRegularizer {
  config?: { l2?: number };
}

/** What the replica needs of each layer: class, config, input shape (HWC), inbound layers, L2. */
export function layerSpec(model: tf.LayersModel) {
  const layers = model.layers.map((layer) => {
    const config = layer.getConfig() as Record<string, unknown>;
    const node = layer.inboundNodes[0];
    const l2 = ['kernelRegularizer', 'depthwiseRegularizer', 'pointwiseRegularizer']
      .map((k) => (config[k] as SerialisedRegularizer | null)?.config?.l2 ?? 0)
      .find((v) => v > 0);
    return {
      name: layer.name,
      cls: layer.getClassName(),
      config,
      inShape: node.inputTensors[0]?.shape.slice(1) ?? [],
      inputs: node.inboundLayers.map((l) => l.name),
      l2,
    };
  });
  return {
    input: model.inputs[0].sourceLayer.name,
    shape: model.inputs[0].shape.slice(1),
    classes: model.outputs[0].shape[1],
    layers,
  };
}

export function pytorchReplica(
  model: tf.LayersModel,
  batch: number,
  minSeconds: number,
): NativeReference | { unavailable: string } {
  const interpreter = python();
  if (!interpreter || !fs.existsSync(SCRIPT))
    return { unavailable: 'PyTorch is not installed (apt-get install python3-torch) — no native reference' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldb-replica-'));
  try {
    const spec = path.join(dir, 'network.json');
    fs.writeFileSync(spec, JSON.stringify(layerSpec(model)));
    const threads = os.availableParallelism();
    const r = spawnSync(interpreter, [SCRIPT, spec, String(threads), String(batch), '10', String(minSeconds)], {
      encoding: 'utf8',
    });
    if (r.status !== 0) return { unavailable: `PyTorch failed: ${(r.stderr || '').trim().split('\n').pop()}` };
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as NativeReference;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
