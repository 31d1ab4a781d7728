import fs from 'node:fs';

/**
 * A process's peak resident memory so far, in MiB: Linux's VmHWM. Not getrusage's maxrss, which a
 * spawned child inherits from its parent until it execs (a child of a process holding 600 MB
 * reported 604 MB where its own peak was 9); this process's maxrss where /proc is missing.
 */
export function peakResidentMb(pid: number | 'self' = 'self'): number {
  try {
    const hwm = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // no /proc: not Linux
  }
  if (pid !== 'self') throw new Error(`the peak memory of process ${pid} cannot be read here`);
  return process.resourceUsage().maxRSS / 1024;
}
