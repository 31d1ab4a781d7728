import os from 'node:os';
import { UsageError } from '../errors';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
};

/** "512M", "2G", "65536": bytes. */
export function parseBytes(flag: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  const bytes = m && unit ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isFinite(bytes) || bytes < 1) {
    throw new UsageError(`invalid ${flag} "${text}"`, 'use a size such as 512M, 2G or a number of bytes');
  }
  return bytes;
}

/**
 * A quarter of the machine's RAM: the training data's tensors are one consumer among several
 * (the model, its gradients and optimizer state, the database driver's buffers).
 */
export function defaultMemoryBudget(): number {
  return Math.floor(os.totalmem() / 4);
}

/** --memory-budget, else MLDB_MEMORY_BUDGET (`configured`, read by config.ts), else a quarter of RAM. */
export function resolveMemoryBudget(flag?: string, configured?: string): number {
  if (flag !== undefined) return parseBytes('--memory-budget', flag);
  if (configured !== undefined) return parseBytes('MLDB_MEMORY_BUDGET', configured);
  return defaultMemoryBudget();
}
