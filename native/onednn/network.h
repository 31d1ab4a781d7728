// A network of layers (each reading earlier layers' outputs) trained on oneDNN's primitives (the library PyTorch's CPU
// convolutions use), its activations held in the layouts oneDNN picks from the first convolution to the head. The
// TypeScript side (src/ml/onednn/) plans the layers from a tfjs model, computes the loss and owns
// the training loop; this file owns the tensors and the primitives.
#pragma once

#include <dnnl.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mldb {

enum class Kind { Conv, BatchNorm, Relu, AvgPool, MaxPool, GlobalAvgPool, Dropout, Dense, Add };

struct LayerSpec {
  Kind kind;
  int units = 0;  // Conv: filters; Dense: units
  int kh = 1, kw = 1, sh = 1, sw = 1;
  // Conv: groups of input channels, each convolved apart (a depthwise convolution: one per channel).
  int groups = 1;
  // Conv, Dense: Keras' L2 penalty on the kernel (l2·Σw² in the loss, 2·l2·w in the gradient).
  float l2 = 0.f;
  int padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;
  bool bias = false;
  float epsilon = 1e-3f;
  double momentum = 0.99;
  // Dropout: whether its mask is laid out as the flattened NHWC vector (after a Flatten) or NCHW.
  bool flatMask = false;
  // The layers whose outputs it reads (-1: the image); empty: the layer before it.
  std::vector<int> inputs;
};

struct Shape {
  int c, h, w;
  bool flat;  // a vector (a Dense's output): c values, h = w = 1
};

/** A trained tensor: its value and gradient in the layout its primitives chose, and Adam's moments. */
struct Param {
  dnnl::memory value, grad;
  std::vector<float> m, v;
  float l2 = 0.f;
};

/** The per-step scalars of Adam as tfjs computes them (float32), from the TypeScript side. */
struct AdamScalars {
  float beta1, oneMinusBeta1, oneMinusAccBeta1, oneMinusAccBeta2, negLr;
};

enum class Mode { Train, Statistics, Inference };

using Ops = std::vector<std::function<void()>>;

struct Builder;

/** One layer in one compiled pass (a batch size and a mode): what its backward pass needs. */
struct Pass {
  virtual ~Pass() = default;
  dnnl::memory out;
  /** Adds this layer's backward ops reading dy; returns dx (an empty memory where !needDx). */
  virtual dnnl::memory backward(Builder& b, const dnnl::memory& dy, bool needDx) = 0;
  /** The same for a layer of several inputs: one dx per input. */
  virtual std::vector<dnnl::memory> backwardMany(Builder& b, const dnnl::memory& dy, const std::vector<bool>& needDx) {
    return {backward(b, dy, needDx[0])};
  }
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual Shape outShape(Shape in) const = 0;
  /** Adds this layer's forward ops reading `in` (of shape `s`); returns its pass. */
  virtual std::unique_ptr<Pass> forward(Builder& b, const dnnl::memory& in, Shape s) = 0;
  /** The same for a layer of several inputs (an addition). */
  virtual std::unique_ptr<Pass> forwardMany(Builder& b, const std::vector<dnnl::memory>& in,
                                            const std::vector<Shape>& s) {
    return forward(b, in[0], s[0]);
  }
  /** Its trained tensors, in the order of its keys. */
  virtual std::vector<Param*> params() { return {}; }
  /** Writes or reads a weight in tfjs' layout; false where the layer has no such key. */
  virtual bool setWeight(const std::string&, const float*, size_t) { return false; }
  virtual bool getWeight(const std::string&, float*, size_t) { return false; }
};

class Network {
 public:
  Network(Shape input, const std::vector<LayerSpec>& specs);
  ~Network();

  int classes() const { return classes_; }
  size_t dropouts() const { return dropouts_; }
  size_t batchNorms() const { return batchNorms_; }
  void setWeight(int layer, const std::string& key, const float* data, size_t n);
  void getWeight(int layer, const std::string& key, float* out, size_t n);

  /**
   * The training forward pass over n NHWC images (masks: one per Dropout, NCHW or flat NHWC, of
   * n rows): the logits (n × classes), and the batch-norm moving statistics updated.
   */
  const float* forwardTrain(const float* images, int n, const std::vector<const float*>& masks);
  /**
   * The backward pass of the last forwardTrain from the logits' gradient, then Adam's update;
   * returns the L2 penalties' part of the loss (of the weights before the update).
   */
  float backwardAndUpdate(const float* dLogits, const AdamScalars& s);
  /** Inference (batch-norm by its moving statistics, dropout off): the logits. */
  const float* predict(const float* images, int n);
  /** Batch-norm statistics pass: each BN layer's input mean and biased variance over this batch. */
  std::vector<std::pair<std::vector<float>, std::vector<float>>> moments(const float* images, int n);

 private:
  struct Compiled;
  Compiled& compiled(int n, Mode mode);
  const float* runForward(Compiled& c, const float* images, const std::vector<const float*>& masks);

  dnnl::engine engine_;
  dnnl::stream stream_;
  Shape input_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<std::vector<int>> inputs_;    // each layer's inputs (-1: the image)
  std::vector<std::vector<Shape>> shapes_;  // their shapes
  std::vector<bool> needsGradient_;         // whether a layer or one before it has weights
  int classes_ = 0;
  size_t dropouts_ = 0, batchNorms_ = 0;
  std::map<std::pair<int, Mode>, std::unique_ptr<Compiled>> compiled_;
  Compiled* lastTrain_ = nullptr;
};

}  // namespace mldb
