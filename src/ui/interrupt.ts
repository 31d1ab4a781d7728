/**
 * Graceful stop for long work: the first Ctrl-C (or SIGTERM) asks the work to stop at the next
 * safe point; a second Ctrl-C exits at once with 130.
 */
export interface StopRequest {
  readonly requested: boolean;
  /** Which signal asked, for the record. */
  readonly signal: NodeJS.Signals | undefined;
  dispose(): void;
}

export function watchInterrupts(onFirst: (signal: NodeJS.Signals) => void): StopRequest {
  let signal: NodeJS.Signals | undefined;
  const handler = (s: NodeJS.Signals) => {
    if (signal) process.exit(130);
    signal = s;
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
