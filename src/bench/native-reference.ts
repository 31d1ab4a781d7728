import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * PyTorch's training speed for simple_cnn on this machine, measured now (Debian's python3-torch,
 * as many threads as cores), or why not: the native framework a user would otherwise pick, which
 * `npm run bench -- train` holds the onnxruntime engine to. Never a dependency of mldb.
 */
const SCRIPT = path.resolve(__dirname, '..', '..', 'src', 'bench', 'pytorch-simple-cnn.py');

export interface NativeReference {
  torch: string;
  threads: number;
  stepMs: number;
  samplesPerSecond: number;
}

function python(): string | null {
  // Debian's interpreter has its python3-torch; a PATH python3 (pyenv, a venv) may not.
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(candidate, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return candidate;
  }
  return null;
}

export function pytorchSimpleCnn(
  size: number,
  batch: number,
  minSeconds: number,
): NativeReference | { unavailable: string } {
  const interpreter = python();
  if (!interpreter || !fs.existsSync(SCRIPT))
    return { unavailable: 'PyTorch is not installed (apt-get install python3-torch) — no native reference' };
  const threads = os.availableParallelism();
  const r = spawnSync(interpreter, [SCRIPT, String(threads), String(size), String(batch), '10', String(minSeconds)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return { unavailable: `PyTorch failed: ${(r.stderr || '').trim().split('\n').pop()}` };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as NativeReference;
}
