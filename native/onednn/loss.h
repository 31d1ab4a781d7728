// Softmax cross-entropy of a batch and its gradient with respect to the logits, as the onnxruntime
// step computes it (src/ml/onnx/training-graph.ts, crossEntropy): probabilities renormalised and
// clipped to [ε, 1 − ε] as tfjs does, no gradient where the clip holds the true class' probability.
#pragma once

#include <vector>

namespace mldb {

struct LossResult {
  float loss;
  std::vector<float> probabilities;  // n × classes
  std::vector<float> dLogits;        // n × classes
};

LossResult softmaxCrossEntropy(const float* logits, const float* targets, int n, int classes, bool softTargets);

}  // namespace mldb
