/**
 * Graceful stop for long work: the first Ctrl-C (or SIGTERM) asks the work to stop at the next
 * safe point; a second one exits at once with 130. So that a signal always ends mldb, even when
 * the safe point never comes (a statement waiting on a server that stopped answering, a worker
 * that hangs), the process also exits with 130 once `graceMs` has passed after the first signal.
 */
export interface StopRequest {
  readonly requested: boolean;
  /** Which signal asked, for the record. */
  readonly signal: NodeJS.Signals | undefined;
  dispose(): void;
}

/** How long work may take to reach its safe point after a signal, unless the caller says otherwise. */
export const DEFAULT_STOP_GRACE_MS = 30_000;

export function watchInterrupts(
  onFirst: (signal: NodeJS.Signals) => void,
  { graceMs = DEFAULT_STOP_GRACE_MS }: { graceMs?: number } = {},
): StopRequest {
  let signal: NodeJS.Signals | undefined;
  const handler = (s: NodeJS.Signals) => {
    if (signal) process.exit(130);
    signal = s;
    // unref: a process that finishes in time is not kept alive by the deadline.
    setTimeout(() => {
      process.stderr.write(`mldb: not stopped ${graceMs / 1000} s after ${s}: exiting now\n`);
      process.exit(130);
    }, graceMs).unref();
    onFirst(s);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get requested() {
      return signal !== undefined;
    },
    get signal() {
      return signal;
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
