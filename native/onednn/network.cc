#include "network.h"

#include <cmath>
#include <stdexcept>

#include "layers.h"

namespace mldb {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

/** The sum of a value's gradients from its readers (a residual block's input has two), in the first's layout. */
static memory sumOf(Builder& b, const std::vector<memory>& parts) {
  memory total = parts[0];
  for (size_t k = 1; k < parts.size(); k++) total = addInto(b, total, parts[k], b.backward);
  return total;
}

/** Every op of one batch size in one mode, over activations allocated once. */
struct Network::Compiled {
  int n;
  Mode mode;
  Ops forward, backward;
  memory image, logits, dLogits;
  std::vector<memory> masks;
  std::vector<std::pair<memory, memory>> statistics;
  std::vector<std::unique_ptr<Pass>> passes;
};

Network::Network(Shape input, const std::vector<LayerSpec>& specs)
    : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_), input_(input) {
  std::vector<Shape> outs;
  for (size_t i = 0; i < specs.size(); i++) {
    const LayerSpec& spec = specs[i];
    std::vector<int> inputs = spec.inputs.empty() ? std::vector<int>{int(i) - 1} : spec.inputs;
    std::vector<Shape> shapes;
    bool upstream = false;
    for (int k : inputs) {
      if (k < -1 || k >= int(i)) throw std::invalid_argument("layer " + std::to_string(i) + " reads a later layer");
      shapes.push_back(k < 0 ? input : outs[k]);
      upstream = upstream || (k >= 0 && needsGradient_[k]);
    }
    layers_.push_back(makeLayer(spec, shapes[0], engine_, stream_));
    outs.push_back(layers_.back()->outShape(shapes[0]));
    inputs_.push_back(inputs);
    shapes_.push_back(shapes);
    needsGradient_.push_back(upstream || !layers_.back()->params().empty());
    if (spec.kind == Kind::Dropout) dropouts_++;
    if (spec.kind == Kind::BatchNorm) batchNorms_++;
  }
  if (outs.empty() || outs.back().h != 1 || outs.back().w != 1)
    throw std::invalid_argument("the network's output is not a vector of class scores");
  classes_ = outs.back().c;
}

Network::~Network() = default;

void Network::setWeight(int layer, const std::string& key, const float* data, size_t n) {
  if (layer < 0 || size_t(layer) >= layers_.size() || !layers_[layer]->setWeight(key, data, n))
    throw std::invalid_argument("no weight " + key + " in layer " + std::to_string(layer));
}

void Network::getWeight(int layer, const std::string& key, float* out, size_t n) {
  if (layer < 0 || size_t(layer) >= layers_.size() || !layers_[layer]->getWeight(key, out, n))
    throw std::invalid_argument("no weight " + key + " in layer " + std::to_string(layer));
}

Network::Compiled& Network::compiled(int n, Mode mode) {
  auto key = std::make_pair(n, mode);
  auto found = compiled_.find(key);
  if (found != compiled_.end()) return *found->second;
  // A run has its batch size and an epoch's last, smaller batch, in three modes; no more are kept.
  if (compiled_.size() >= 8) {
    compiled_.clear();
    lastTrain_ = nullptr;
  }
  auto c = std::make_unique<Compiled>();
  c->n = n;
  c->mode = mode;
  Builder b{engine_, stream_, c->forward, c->backward, n, mode, c->masks, c->statistics};
  c->image = memory({{n, input_.c, input_.h, input_.w}, dt::f32, tag::nhwc}, engine_, nullptr);
  for (size_t i = 0; i < layers_.size(); i++) {
    std::vector<memory> ins;
    for (int k : inputs_[i]) ins.push_back(k < 0 ? c->image : c->passes[k]->out);
    c->passes.push_back(layers_[i]->forwardMany(b, ins, shapes_[i]));
  }
  const memory v = c->passes.back()->out;
  const memory::dims outDims = v.get_desc().dims();
  const memory::desc plain(outDims, dt::f32, outDims.size() == 2 ? tag::nc : tag::nchw);
  c->logits = b.into(v, plain, c->forward);
  if (mode == Mode::Train) {
    c->dLogits = memory(plain, engine_, nullptr);
    // In reverse order, each layer's gradient the sum of what its readers sent back; nothing for
    // a layer with no weights at or before it.
    std::vector<std::vector<memory>> received(layers_.size());
    received.back().push_back(c->dLogits);
    for (size_t i = layers_.size(); i-- > 0;) {
      if (!needsGradient_[i] || received[i].empty()) continue;
      std::vector<bool> need;
      for (int k : inputs_[i]) need.push_back(k >= 0 && needsGradient_[k]);
      const std::vector<memory> dx = c->passes[i]->backwardMany(b, sumOf(b, received[i]), need);
      for (size_t j = 0; j < need.size(); j++)
        if (need[j]) received[inputs_[i][j]].push_back(dx[j]);
    }
  }
  Compiled& ref = *c;
  compiled_[key] = std::move(c);
  return ref;
}

const float* Network::runForward(Compiled& c, const float* images, const std::vector<const float*>& masks) {
  c.image.set_data_handle(const_cast<float*>(images));
  if (masks.size() != c.masks.size()) throw std::invalid_argument("wrong number of dropout masks");
  for (size_t k = 0; k < masks.size(); k++) c.masks[k].set_data_handle(const_cast<float*>(masks[k]));
  for (auto& op : c.forward) op();
  stream_.wait();
  return static_cast<const float*>(c.logits.get_data_handle());
}

const float* Network::forwardTrain(const float* images, int n, const std::vector<const float*>& masks) {
  Compiled& c = compiled(n, Mode::Train);
  lastTrain_ = &c;
  return runForward(c, images, masks);
}

float Network::backwardAndUpdate(const float* dLogits, const AdamScalars& s) {
  if (!lastTrain_) throw std::logic_error("backward without a training forward pass");
  Compiled& c = *lastTrain_;
  c.dLogits.set_data_handle(const_cast<float*>(dLogits));
  for (auto& op : c.backward) op();
  stream_.wait();
  // Adam as tfjs computes it, in float32 and in its order of operations (no fused multiply-add:
  // the build turns contraction off), so that both engines move the weights alike.
  const float b2 = 0.999f, oneMinusB2 = float(1.0 - 0.999), epsilon = 1e-7f;
  float penalty = 0.f;
  for (auto& layer : layers_) {
    for (Param* p : layer->params()) {
      float* w = static_cast<float*>(p->value.get_data_handle());
      float* g = static_cast<float*>(p->grad.get_data_handle());
      float* m = p->m.data();
      float* v = p->v.data();
      const long count = long(p->m.size());
      if (p->l2 > 0.f) {
        // Keras' L2 as the ONNX step adds it: l2·Σw² to the loss, w·(2·l2) to the gradient.
        // (A blocked layout's padding holds zeros: it adds nothing to either.)
        float squares = 0.f;
        const float twice = float(2.0 * double(p->l2));
        for (long i = 0; i < count; i++) {
          squares += w[i] * w[i];
          g[i] = g[i] + w[i] * twice;
        }
        penalty += squares * p->l2;
      }
#pragma omp parallel for if (count > 32768)
      for (long i = 0; i < count; i++) {
        const float nextM = m[i] * s.beta1 + g[i] * s.oneMinusBeta1;
        const float nextV = v[i] * b2 + (g[i] * g[i]) * oneMinusB2;
        const float ratio = (nextM / s.oneMinusAccBeta1) / (std::sqrt(nextV / s.oneMinusAccBeta2) + epsilon);
        w[i] = ratio * s.negLr + w[i];
        m[i] = nextM;
        v[i] = nextV;
      }
    }
  }
  return penalty;
}

const float* Network::predict(const float* images, int n) {
  return runForward(compiled(n, Mode::Inference), images, {});
}

std::vector<std::pair<std::vector<float>, std::vector<float>>> Network::moments(const float* images, int n) {
  Compiled& c = compiled(n, Mode::Statistics);
  runForward(c, images, {});
  std::vector<std::pair<std::vector<float>, std::vector<float>>> out;
  auto values = [](const memory& m) {
    const float* p = static_cast<const float*>(m.get_data_handle());
    return std::vector<float>(p, p + m.get_desc().get_size() / sizeof(float));
  };
  for (auto& [mean, variance] : c.statistics) out.emplace_back(values(mean), values(variance));
  return out;
}

}  // namespace mldb
