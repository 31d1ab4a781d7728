/**
 * Confident learning (Northcutt et al., as cleanlab does it): which rows' labels a model's
 * predicted probabilities most confidently contradict. Pure arithmetic over the probabilities;
 * suspects.ts runs the model and reads the rows.
 */

/** One row's verdict: the class the model confidently puts it in instead of its label. */
export interface LabelIssue {
  /** Position of the row in the probabilities given. */
  position: number;
  /** The class the model suggests (index). */
  suggested: number;
  /** p(suggested): the model's probability of the suggested class. */
  confidence: number;
  /** p(label): the model's probability of the stored label (cleanlab's self-confidence). */
  labelProbability: number;
  /** confidence − labelProbability: how far the model prefers the suggestion; the ranking key. */
  margin: number;
}

/**
 * Per-class thresholds t_j: the mean probability of class j over the rows labelled j (the
 * model's typical confidence in a class it is right about). A class with no rows gets +∞: no row
 * can be confidently put into a class the table never shows.
 */
export function classThresholds(probs: Float32Array, labels: ArrayLike<number>, numClasses: number): Float64Array {
  const sum = new Float64Array(numClasses);
  const count = new Float64Array(numClasses);
  for (let r = 0; r < labels.length; r++) {
    sum[labels[r]] += probs[r * numClasses + labels[r]];
    count[labels[r]]++;
  }
  return sum.map((s, j) => (count[j] > 0 ? s / count[j] : Infinity));
}

/**
 * The rows whose label the model contradicts, most confident first: a row labelled i is a
 * suspect when, among the classes j whose probability reaches t_j, the likeliest is not i.
 * Ranked by the margin p_suggested − p_label (ties: lower p_label first, then position).
 */
export function labelIssues(probs: Float32Array, labels: ArrayLike<number>, numClasses: number): LabelIssue[] {
  const t = classThresholds(probs, labels, numClasses);
  const issues: LabelIssue[] = [];
  for (let r = 0; r < labels.length; r++) {
    const row = probs.subarray(r * numClasses, (r + 1) * numClasses);
    let best = -1;
    for (let j = 0; j < numClasses; j++) if (row[j] >= t[j] && (best < 0 || row[j] > row[best])) best = j;
    const label = labels[r];
    if (best < 0 || best === label) continue;
    issues.push({
      position: r,
      suggested: best,
      confidence: row[best],
      labelProbability: row[label],
      margin: row[best] - row[label],
    });
  }
  return issues.sort(
    (a, b) => b.margin - a.margin || a.labelProbability - b.labelProbability || a.position - b.position,
  );
}
