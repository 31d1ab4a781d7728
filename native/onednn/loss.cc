#include "loss.h"

#include <algorithm>
#include <cmath>

namespace mldb {

LossResult softmaxCrossEntropy(const float* logits, const float* targets, int n, int classes, bool softTargets) {
  const float low = 1e-7f, high = float(1.0 - 1e-7);
  LossResult r{0.f, std::vector<float>(size_t(n) * classes), std::vector<float>(size_t(n) * classes)};
  float total = 0;
  for (int i = 0; i < n; i++) {
    const float* z = logits + size_t(i) * classes;
    const float* y = targets + size_t(i) * classes;
    float* p = r.probabilities.data() + size_t(i) * classes;
    float* d = r.dLogits.data() + size_t(i) * classes;
    float top = z[0];
    for (int k = 1; k < classes; k++) top = std::max(top, z[k]);
    float sum = 0;
    for (int k = 0; k < classes; k++) sum += p[k] = std::exp(z[k] - top);
    for (int k = 0; k < classes; k++) p[k] /= sum;
    float pSum = 0;
    for (int k = 0; k < classes; k++) pSum += p[k];
    float row = 0, trueInside = 0;
    for (int k = 0; k < classes; k++) {
      const float q = p[k] / pSum;
      row += y[k] * std::log(std::min(std::max(q, low), high));
      const float inside = q >= low && q <= high ? 1.f : 0.f;
      d[k] = y[k] * inside;
      trueInside += d[k];
    }
    // Soft targets: −Σ a·log q (a = y where the clip lets the gradient through) has logit
    // gradient p·Σa − a; a one-hot row inside the clip gives the (p − y) of the hard case.
    for (int k = 0; k < classes; k++)
      d[k] = softTargets ? (p[k] * trueInside - d[k]) / float(n) : (p[k] - y[k]) * (trueInside / float(n));
    total += -row;
  }
  r.loss = total / float(n);
  return r;
}

}  // namespace mldb
