/** Per-class quality from a confusion matrix whose rows are true classes and columns predictions. */
export interface ClassMetrics {
  label: string;
  support: number;
  precision: number;
  recall: number;
  f1: number;
}

export function emptyConfusion(numClasses: number): number[][] {
  return Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
}

/**
 * Precision = TP / predicted as the class, recall = TP / truly the class, F1 their harmonic mean.
 * A class never predicted (or never present) gets 0 rather than NaN, as scikit-learn reports it.
 */
export function classMetrics(confusion: number[][], labels: string[]): ClassMetrics[] {
  return labels.map((label, c) => {
    const tp = confusion[c][c];
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c], 0);
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, support, precision, recall, f1 };
  });
}

/** Unweighted mean over classes that occur: how well every class is served, not just the big ones. */
export function macroAverage(metrics: ClassMetrics[]): { precision: number; recall: number; f1: number } {
  const present = metrics.filter((m) => m.support > 0);
  const mean = (f: (m: ClassMetrics) => number) =>
    present.length ? present.reduce((a, m) => a + f(m), 0) / present.length : 0;
  return { precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1) };
}
