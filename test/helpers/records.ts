import os from 'node:os';
import { v7 as uuidv7 } from 'uuid';
import type { PredictionLogRow } from '../../src/db/predictions';
import type { RunStart } from '../../src/db/run-types';

/** A run row as a training process on this host starts it; tests name only what they look at. */
export function runStart(overrides: Partial<RunStart> = {}): RunStart {
  return {
    name: null,
    experiment: null,
    planKey: null,
    dataset: 'digits',
    architecture: 'lenet5',
    hyperparameters: { seed: 1 },
    mldbVersion: '0',
    tfjsVersion: '0',
    host: os.hostname(),
    pid: process.pid,
    ...overrides,
  };
}

/** A prediction-log row as the service writes one; tests name only what they look at. */
export function loggedPrediction(overrides: Partial<PredictionLogRow> = {}): PredictionLogRow {
  return {
    id: uuidv7(),
    createdAt: new Date(),
    source: 'api',
    model: 'm@1',
    modelId: null,
    runId: null,
    client: null,
    fileName: 'x.png',
    inputSha256: null,
    inputBytes: 1,
    inputFormat: 'png',
    input: null,
    label: '3',
    confidence: 0.9,
    top: [{ label: '3', probability: 0.9 }],
    latencyMs: 1,
    status: 'ok',
    error: null,
    ...overrides,
  };
}
