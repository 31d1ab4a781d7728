import {
  findBackend,
  getKernel,
  getKernelsForBackend,
  registerKernel,
  type KernelBackend,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs';

/**
 * For any kernel the wasm backend lacks, a correct (not fast) version: copy the inputs to the
 * cpu backend, run its kernel there, copy the outputs back. It keeps rare ops working instead of
 * failing a whole training run.
 */
export function cpuFallbackKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  const cpuKernel = getKernel(kernelName, 'cpu');
  if (!cpuKernel) return undefined;
  return {
    kernelName,
    backendName,
    kernelFunc: ({ inputs, attrs, backend: anyBackend }) => {
      const backend = anyBackend as KernelBackend;
      const cpu = findBackend('cpu') as KernelBackend & {
        makeTensorInfo(s: number[], d: string, v?: unknown): TensorInfo;
      };
      const target = backend as KernelBackend & {
        makeOutput(s: number[], d: string, o?: number, v?: unknown): TensorInfo;
      };
      const cpuInputs: Record<string, TensorInfo> = {};
      for (const [name, t] of Object.entries(inputs)) {
        if (t) cpuInputs[name] = cpu.makeTensorInfo(t.shape, t.dtype, backend.readSync(t.dataId));
      }
      const out = cpuKernel.kernelFunc({ inputs: cpuInputs, attrs, backend: cpu });
      const outs = Array.isArray(out) ? out : [out];
      const results = outs.map((o) => {
        const r = target.makeOutput(o.shape, o.dtype, undefined, cpu.readSync(o.dataId));
        cpu.disposeData(o.dataId);
        return r;
      });
      for (const t of Object.values(cpuInputs)) cpu.disposeData(t.dataId);
      return Array.isArray(out) ? results : results[0];
    },
  };
}

/** Registers a cpu fallback for every kernel the cpu backend has and `backendName` lacks. */
export function registerCpuFallbacks(backendName: string, skip: ReadonlySet<string>): string[] {
  const have = new Set(getKernelsForBackend(backendName).map((k) => k.kernelName));
  const added: string[] = [];
  for (const k of getKernelsForBackend('cpu')) {
    if (have.has(k.kernelName) || skip.has(k.kernelName)) continue;
    const config = cpuFallbackKernel(k.kernelName, backendName);
    if (config) {
      registerKernel(config);
      added.push(k.kernelName);
    }
  }
  return added;
}
