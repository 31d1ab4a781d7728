import os from 'node:os';
import { resolveWorkers } from '../../src/ml/engines/select-engine';

describe('--workers, resolved once the backend is chosen', () => {
  test('auto: one tfjs replica per core on wasm and cpu; one on onnxruntime, oneDNN and native TensorFlow', () => {
    const cores = Math.min(64, os.availableParallelism());
    expect(resolveWorkers('auto', 'wasm')).toBe(cores);
    expect(resolveWorkers(undefined, 'cpu')).toBe(cores);
    expect(resolveWorkers('auto', 'tensorflow')).toBe(1);
    expect(resolveWorkers('auto', 'onnxruntime')).toBe(1);
    expect(resolveWorkers('auto', 'onednn')).toBe(1);
  });

  test('a count is kept on tfjs backends; more than one on onnxruntime or oneDNN is refused by name', () => {
    expect(resolveWorkers(3, 'wasm')).toBe(3);
    expect(resolveWorkers(1, 'onnxruntime')).toBe(1);
    expect(() => resolveWorkers(2, 'onnxruntime')).toThrow(/--workers 2 .*onnxruntime trains on every core/);
    expect(() => resolveWorkers(4, 'onednn')).toThrow(/--workers 4 .*onednn trains on every core/);
  });
});
