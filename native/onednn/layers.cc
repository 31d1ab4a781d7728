#include "layers.h"

#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace mldb {

using dnnl::memory;
using dnnl::prop_kind;
using dt = memory::data_type;
using tag = memory::format_tag;
using Args = std::unordered_map<int, memory>;

namespace {

/** Adds `p` run with `args` to `ops`. */
template <typename P>
void add(Ops& ops, dnnl::stream& s, const P& p, const Args& args) {
  dnnl::stream* sp = &s;
  ops.push_back([p, args, sp]() { p.execute(*sp, args); });
}

}  // namespace

memory Builder::into(const memory& m, const memory::desc& want, Ops& ops) {
  if (m.get_desc() == want) return m;
  memory out(want, engine);
  add(ops, stream, dnnl::reorder(m, out), Args{{DNNL_ARG_FROM, m}, {DNNL_ARG_TO, out}});
  return out;
}

memory addInto(Builder& b, const memory& a, const memory& c, Ops& ops) {
  const memory::desc md = a.get_desc();
  memory second = b.into(c, md, ops);
  memory sum(md, b.engine);
  dnnl::binary::primitive_desc pd({dnnl::algorithm::binary_add, md, md, md}, b.engine);
  add(ops, b.stream, dnnl::binary(pd), Args{{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, second}, {DNNL_ARG_DST, sum}});
  return sum;
}

namespace {

const std::string GRADIENT = "gradient:";

memory::desc any(const memory::dims& d) { return memory::desc(d, dt::f32, tag::any); }
memory::desc vectorOf(int n) { return memory::desc({n}, dt::f32, tag::a); }
memory::dims dataDims(int n, Shape s) { return s.flat ? memory::dims{n, s.c} : memory::dims{n, s.c, s.h, s.w}; }
// Only a training pass keeps what a backward pass reads (a max pool's workspace); batch-norm
// normalises by the batch in the statistics pass too, and says so itself.
prop_kind forwardKind(Mode mode) {
  return mode == Mode::Train ? prop_kind::forward_training : prop_kind::forward_inference;
}

Param makeParam(const memory::desc& md, dnnl::engine& engine) {
  Param p{memory(md, engine), memory(md, engine), {}, {}};
  std::memset(p.value.get_data_handle(), 0, md.get_size());
  std::memset(p.grad.get_data_handle(), 0, md.get_size());
  p.m.assign(md.get_size() / sizeof(float), 0.f);
  p.v.assign(md.get_size() / sizeof(float), 0.f);
  return p;
}

/** Copies between a tensor held in oneDNN's layout and a caller's buffer laid out as `user`. */
void transfer(dnnl::engine& engine, dnnl::stream& stream, const memory::desc& user, float* data, memory& held,
              bool toHeld) {
  memory outside(user, engine, data);
  if (toHeld)
    dnnl::reorder(outside, held).execute(stream, outside, held);
  else
    dnnl::reorder(held, outside).execute(stream, held, outside);
  stream.wait();
}

/** dW (and db) into the held gradients, through a reorder where the primitive's layout differs. */
template <typename Primitive, typename Pd>
void addWeightsBackward(Builder& b, const Pd& pd, Param& kernel, Param* bias, const memory& x, const memory& dy) {
  memory dyW = b.into(dy, pd.diff_dst_desc(), b.backward);
  memory xW = b.into(x, pd.src_desc(), b.backward);
  const bool direct = pd.diff_weights_desc() == kernel.grad.get_desc();
  memory dW = direct ? kernel.grad : memory(pd.diff_weights_desc(), b.engine);
  Args args{{DNNL_ARG_SRC, xW}, {DNNL_ARG_DIFF_DST, dyW}, {DNNL_ARG_DIFF_WEIGHTS, dW}};
  if (bias) args[DNNL_ARG_DIFF_BIAS] = bias->grad;
  add(b.backward, b.stream, Primitive(pd), args);
  if (!direct)
    add(b.backward, b.stream, dnnl::reorder(dW, kernel.grad), Args{{DNNL_ARG_FROM, dW}, {DNNL_ARG_TO, kernel.grad}});
}

/**
 * A kernel and an optional bias, both trained (convolution, dense). The kernel is held in the
 * layout the forward primitive picks for a batch of 64; a batch whose primitive wants another
 * reorders into it.
 */
class Weighted : public Layer {
 public:
  std::vector<Param*> params() override {
    std::vector<Param*> p{&kernel_};
    if (hasBias_) p.push_back(&bias_);
    return p;
  }
  bool setWeight(const std::string& key, const float* data, size_t n) override {
    return io(key, const_cast<float*>(data), n, true);
  }
  bool getWeight(const std::string& key, float* out, size_t n) override { return io(key, out, n, false); }

 protected:
  Weighted(dnnl::engine& engine, dnnl::stream& stream, int units, bool bias)
      : engine_(engine), stream_(stream), units_(units), hasBias_(bias) {}
  void hold(const memory::desc& kernel, float l2) {
    kernel_ = makeParam(kernel, engine_);
    kernel_.l2 = l2;
    if (hasBias_) bias_ = makeParam(vectorOf(units_), engine_);
  }
  memory::desc biasDesc() const { return hasBias_ ? vectorOf(units_) : memory::desc(); }
  dnnl::engine& engine_;
  dnnl::stream& stream_;
  int units_;
  bool hasBias_;
  Param kernel_, bias_;
  /** The kernel as tfjs lays it out, over the held kernel's logical dims. */
  memory::desc userKernel_;

 private:
  // "gradient:kernel" and "gradient:bias" read the last step's gradients (for the tests).
  bool io(const std::string& key, float* data, size_t n, bool toHeld) {
    const bool gradient = key.rfind(GRADIENT, 0) == 0 && !toHeld;
    const std::string name = gradient ? key.substr(GRADIENT.size()) : key;
    if (name == "kernel") {
      if (n * sizeof(float) != userKernel_.get_size()) throw std::invalid_argument("kernel: wrong number of values");
      transfer(engine_, stream_, userKernel_, data, gradient ? kernel_.grad : kernel_.value, toHeld);
      return true;
    }
    if (name == "bias" && hasBias_) {
      if (n != size_t(units_)) throw std::invalid_argument("bias: wrong number of values");
      transfer(engine_, stream_, vectorOf(units_), data, gradient ? bias_.grad : bias_.value, toHeld);
      return true;
    }
    return false;
  }
};

class Conv : public Weighted {
 public:
  Conv(const LayerSpec& s, Shape in, dnnl::engine& engine, dnnl::stream& stream)
      : Weighted(engine, stream, s.units, s.bias), s_(s), in_(in) {
    if (s.groups == 1) {
      // tfjs' kernel is [kh, kw, in, out]: oneDNN's hwio over dims {out, in, kh, kw}.
      userKernel_ = memory::desc(kernelDims(), dt::f32, tag::hwio);
    } else {
      // A depthwise kernel, tfjs' [kh, kw, channels, multiplier], over dims {channels,
      // multiplier, 1, kh, kw}: (g, o, 0, h, w) sits at ((h·kw + w)·channels + g)·multiplier + o.
      if (s.groups != in.c || s.units % s.groups != 0)
        throw std::invalid_argument("a grouped convolution other than a depthwise one");
      const memory::dim dm = s.units / s.groups, c = in.c;
      userKernel_ = memory::desc(kernelDims(), dt::f32, memory::dims{dm, 1, 1, s.kw * c * dm, c * dm});
    }
    hold(forwardPd(64, Mode::Train).weights_desc(), s.l2);
  }
  Shape outShape(Shape in) const override {
    return {s_.units, (in.h + s_.padTop + s_.padBottom - s_.kh) / s_.sh + 1,
            (in.w + s_.padLeft + s_.padRight - s_.kw) / s_.sw + 1, false};
  }

  std::unique_ptr<Pass> forward(Builder& b, const memory& in, Shape s) override {
    auto pass = std::make_unique<ConvPass>();
    pass->layer = this;
    pass->fpd = forwardPd(b.n, b.mode);
    pass->x = b.into(in, pass->fpd.src_desc(), b.forward);
    memory w = b.into(kernel_.value, pass->fpd.weights_desc(), b.forward);
    pass->out = memory(pass->fpd.dst_desc(), b.engine);
    Args args{{DNNL_ARG_SRC, pass->x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, pass->out}};
    if (hasBias_) args[DNNL_ARG_BIAS] = bias_.value;
    add(b.forward, b.stream, dnnl::convolution_forward(pass->fpd), args);
    (void)s;
    return pass;
  }

 private:
  struct ConvPass : Pass {
    Conv* layer;
    dnnl::convolution_forward::primitive_desc fpd;
    memory x;
    memory backward(Builder& b, const memory& dy, bool needDx) override {
      return layer->backward(b, *this, dy, needDx);
    }
  };

  memory::dims kernelDims() const {
    if (s_.groups == 1) return {s_.units, in_.c, s_.kh, s_.kw};
    return {s_.groups, s_.units / s_.groups, in_.c / s_.groups, s_.kh, s_.kw};
  }
  memory::dims strides() const { return {s_.sh, s_.sw}; }
  memory::dims padL() const { return {s_.padTop, s_.padLeft}; }
  memory::dims padR() const { return {s_.padBottom, s_.padRight}; }
  memory::dims dstDims(int n) const {
    Shape o = outShape(in_);
    return {n, o.c, o.h, o.w};
  }
  dnnl::convolution_forward::primitive_desc forwardPd(int n, Mode mode) const {
    return {{forwardKind(mode), dnnl::algorithm::convolution_direct, any(dataDims(n, in_)), any(kernelDims()),
             biasDesc(), any(dstDims(n)), strides(), padL(), padR()},
            engine_};
  }

  memory backward(Builder& b, ConvPass& p, const memory& dy, bool needDx) {
    dnnl::convolution_backward_weights::primitive_desc wpd(
        {dnnl::algorithm::convolution_direct, any(dataDims(b.n, in_)), any(kernelDims()), biasDesc(), any(dstDims(b.n)),
         strides(), padL(), padR()},
        b.engine, p.fpd);
    addWeightsBackward<dnnl::convolution_backward_weights>(b, wpd, kernel_, hasBias_ ? &bias_ : nullptr, p.x, dy);
    if (!needDx) return memory();
    dnnl::convolution_backward_data::primitive_desc dpd(
        {dnnl::algorithm::convolution_direct, any(dataDims(b.n, in_)), any(kernelDims()), any(dstDims(b.n)), strides(),
         padL(), padR()},
        b.engine, p.fpd);
    memory dyD = b.into(dy, dpd.diff_dst_desc(), b.backward);
    memory w = b.into(kernel_.value, dpd.weights_desc(), b.backward);
    memory dx(dpd.diff_src_desc(), b.engine);
    add(b.backward, b.stream, dnnl::convolution_backward_data(dpd),
        Args{{DNNL_ARG_DIFF_DST, dyD}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}});
    return dx;
  }

  LayerSpec s_;
  Shape in_;
};

class Dense : public Weighted {
 public:
  Dense(const LayerSpec& s, Shape in, dnnl::engine& engine, dnnl::stream& stream)
      : Weighted(engine, stream, s.units, s.bias), in_(in) {
    // tfjs' kernel is [inputs, units], its inputs in NHWC order (a Flatten's): over dims
    // {units, c, h, w} the element (o, c, h, w) sits at ((h·W + w)·C + c)·units + o.
    const memory::dim u = s.units, c = in.c, w = in.w;
    userKernel_ = in.flat ? memory::desc({u, c}, dt::f32, memory::dims{1, u})
                          : memory::desc(kernelDims(), dt::f32, memory::dims{1, u, w * c * u, c * u});
    hold(forwardPd(64, Mode::Train).weights_desc(), s.l2);
  }
  Shape outShape(Shape) const override { return {units_, 1, 1, true}; }

  std::unique_ptr<Pass> forward(Builder& b, const memory& in, Shape) override {
    auto pass = std::make_unique<DensePass>();
    pass->layer = this;
    pass->fpd = forwardPd(b.n, b.mode);
    pass->x = b.into(in, pass->fpd.src_desc(), b.forward);
    memory w = b.into(kernel_.value, pass->fpd.weights_desc(), b.forward);
    pass->out = memory(pass->fpd.dst_desc(), b.engine);
    Args args{{DNNL_ARG_SRC, pass->x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, pass->out}};
    if (hasBias_) args[DNNL_ARG_BIAS] = bias_.value;
    add(b.forward, b.stream, dnnl::inner_product_forward(pass->fpd), args);
    return pass;
  }

 private:
  struct DensePass : Pass {
    Dense* layer;
    dnnl::inner_product_forward::primitive_desc fpd;
    memory x;
    memory backward(Builder& b, const memory& dy, bool needDx) override {
      return layer->backward(b, *this, dy, needDx);
    }
  };
  memory::dims kernelDims() const {
    return in_.flat ? memory::dims{units_, in_.c} : memory::dims{units_, in_.c, in_.h, in_.w};
  }
  dnnl::inner_product_forward::primitive_desc forwardPd(int n, Mode mode) const {
    return {{forwardKind(mode), any(dataDims(n, in_)), any(kernelDims()), biasDesc(), any({n, units_})}, engine_};
  }
  memory backward(Builder& b, DensePass& p, const memory& dy, bool needDx) {
    dnnl::inner_product_backward_weights::primitive_desc wpd(
        {any(dataDims(b.n, in_)), any(kernelDims()), biasDesc(), any({b.n, units_})}, b.engine, p.fpd);
    addWeightsBackward<dnnl::inner_product_backward_weights>(b, wpd, kernel_, hasBias_ ? &bias_ : nullptr, p.x, dy);
    if (!needDx) return memory();
    dnnl::inner_product_backward_data::primitive_desc dpd(
        {any(dataDims(b.n, in_)), any(kernelDims()), any({b.n, units_})}, b.engine, p.fpd);
    memory dyD = b.into(dy, dpd.diff_dst_desc(), b.backward);
    memory w = b.into(kernel_.value, dpd.weights_desc(), b.backward);
    memory dx(dpd.diff_src_desc(), b.engine);
    add(b.backward, b.stream, dnnl::inner_product_backward_data(dpd),
        Args{{DNNL_ARG_DIFF_DST, dyD}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}});
    return dx;
  }
  Shape in_;
};

/**
 * Batch normalisation as tfjs computes it: in training by the batch's mean and biased variance,
 * the moving statistics updated as moving − (moving − batch)·(1 − momentum) in float32; at
 * inference by the moving statistics.
 */
class BatchNorm : public Layer {
 public:
  BatchNorm(const LayerSpec& s, Shape in, dnnl::engine& engine, dnnl::stream& stream)
      : s_(s), c_(in.c), engine_(engine), stream_(stream) {
    gamma_ = makeParam(vectorOf(c_), engine);
    beta_ = makeParam(vectorOf(c_), engine);
    movingMean_.assign(c_, 0.f);
    movingVariance_.assign(c_, 1.f);
    std::fill_n(static_cast<float*>(gamma_.value.get_data_handle()), c_, 1.f);
  }
  Shape outShape(Shape in) const override { return in; }
  std::vector<Param*> params() override { return {&gamma_, &beta_}; }

  bool setWeight(const std::string& key, const float* data, size_t n) override {
    return io(key, const_cast<float*>(data), n, true);
  }
  bool getWeight(const std::string& key, float* out, size_t n) override { return io(key, out, n, false); }

  std::unique_ptr<Pass> forward(Builder& b, const memory& in, Shape) override {
    auto pass = std::make_unique<BnPass>();
    pass->layer = this;
    pass->x = in;
    const memory::desc md = in.get_desc();
    auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    pass->out = memory(md, b.engine);
    if (b.mode == Mode::Inference) {
      flags = flags | dnnl::normalization_flags::use_global_stats;
      dnnl::batch_normalization_forward::primitive_desc pd({prop_kind::forward_inference, md, s_.epsilon, flags},
                                                           b.engine);
      memory mean(vectorOf(c_), b.engine, movingMean_.data()), variance(vectorOf(c_), b.engine, movingVariance_.data());
      add(b.forward, b.stream, dnnl::batch_normalization_forward(pd),
          Args{{DNNL_ARG_SRC, in},
               {DNNL_ARG_DST, pass->out},
               {DNNL_ARG_SCALE, gamma_.value},
               {DNNL_ARG_SHIFT, beta_.value},
               {DNNL_ARG_MEAN, mean},
               {DNNL_ARG_VARIANCE, variance}});
      return pass;
    }
    pass->fpd = {{prop_kind::forward_training, md, s_.epsilon, flags}, b.engine};
    pass->mean = memory(pass->fpd.mean_desc(), b.engine);
    pass->variance = memory(pass->fpd.variance_desc(), b.engine);
    add(b.forward, b.stream, dnnl::batch_normalization_forward(pass->fpd),
        Args{{DNNL_ARG_SRC, in},
             {DNNL_ARG_DST, pass->out},
             {DNNL_ARG_SCALE, gamma_.value},
             {DNNL_ARG_SHIFT, beta_.value},
             {DNNL_ARG_MEAN, pass->mean},
             {DNNL_ARG_VARIANCE, pass->variance}});
    if (b.mode == Mode::Statistics) {
      b.statistics.emplace_back(pass->mean, pass->variance);
      return pass;
    }
    // The moving averages follow each training step, as in tfjs (and in the same float32 order).
    dnnl::stream* sp = &b.stream;
    float* mean = static_cast<float*>(pass->mean.get_data_handle());
    float* variance = static_cast<float*>(pass->variance.get_data_handle());
    const float decay = float(1.0 - s_.momentum);
    b.forward.push_back([this, sp, mean, variance, decay]() {
      sp->wait();
      for (int c = 0; c < c_; c++) {
        movingMean_[c] = movingMean_[c] - (movingMean_[c] - mean[c]) * decay;
        movingVariance_[c] = movingVariance_[c] - (movingVariance_[c] - variance[c]) * decay;
      }
    });
    return pass;
  }

 private:
  struct BnPass : Pass {
    BatchNorm* layer;
    dnnl::batch_normalization_forward::primitive_desc fpd;
    memory x, mean, variance;
    memory backward(Builder& b, const memory& dy, bool) override { return layer->backward(b, *this, dy); }
  };
  memory backward(Builder& b, BnPass& p, const memory& dy) {
    const memory::desc md = p.x.get_desc();
    auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    dnnl::batch_normalization_backward::primitive_desc pd({prop_kind::backward, md, md, s_.epsilon, flags}, b.engine,
                                                          p.fpd);
    memory dyB = b.into(dy, md, b.backward);
    memory dx(md, b.engine);
    // oneDNN 2.6 asks for the shift among a backward pass' arguments, although it does not read it.
    add(b.backward, b.stream, dnnl::batch_normalization_backward(pd),
        Args{{DNNL_ARG_SRC, p.x},
             {DNNL_ARG_DIFF_DST, dyB},
             {DNNL_ARG_SCALE, gamma_.value},
             {DNNL_ARG_SHIFT, beta_.value},
             {DNNL_ARG_MEAN, p.mean},
             {DNNL_ARG_VARIANCE, p.variance},
             {DNNL_ARG_DIFF_SRC, dx},
             {DNNL_ARG_DIFF_SCALE, gamma_.grad},
             {DNNL_ARG_DIFF_SHIFT, beta_.grad}});
    return dx;
  }
  bool io(const std::string& key, float* data, size_t n, bool toHeld) {
    if (n != size_t(c_)) throw std::invalid_argument(key + ": wrong number of values");
    auto handle = [](memory& m) { return static_cast<float*>(m.get_data_handle()); };
    float* held = key == "gamma"                         ? handle(gamma_.value)
                  : key == "beta"                        ? handle(beta_.value)
                  : key == "moving_mean"                 ? movingMean_.data()
                  : key == "moving_variance"             ? movingVariance_.data()
                  : key == GRADIENT + "gamma" && !toHeld ? handle(gamma_.grad)
                  : key == GRADIENT + "beta" && !toHeld  ? handle(beta_.grad)
                                                         : nullptr;
    if (!held) return false;
    if (toHeld)
      std::memcpy(held, data, n * sizeof(float));
    else
      std::memcpy(data, held, n * sizeof(float));
    return true;
  }

  LayerSpec s_;
  int c_;
  dnnl::engine& engine_;
  dnnl::stream& stream_;
  Param gamma_, beta_;
  std::vector<float> movingMean_, movingVariance_;
};

class Relu : public Layer {
 public:
  Shape outShape(Shape in) const override { return in; }
  std::unique_ptr<Pass> forward(Builder& b, const memory& in, Shape) override {
    auto pass = std::make_unique<ReluPass>();
    pass->x = in;
    pass->fpd = {{forwardKind(b.mode), dnnl::algorithm::eltwise_relu, in.get_desc(), 0.f}, b.engine};
    pass->out = memory(in.get_desc(), b.engine);
    add(b.forward, b.stream, dnnl::eltwise_forward(pass->fpd), Args{{DNNL_ARG_SRC, in}, {DNNL_ARG_DST, pass->out}});
    return pass;
  }

 private:
  struct ReluPass : Pass {
    dnnl::eltwise_forward::primitive_desc fpd;
    memory x;
    memory backward(Builder& b, const memory& dy, bool) override {
      const memory::desc md = x.get_desc();
      dnnl::eltwise_backward::primitive_desc pd({dnnl::algorithm::eltwise_relu, md, md, 0.f}, b.engine, fpd);
      memory dyR = b.into(dy, md, b.backward);
      memory dx(md, b.engine);
      add(b.backward, b.stream, dnnl::eltwise_backward(pd),
          Args{{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dyR}, {DNNL_ARG_DIFF_SRC, dx}});
      return dx;
    }
  };
};

/** Average (padding left out of the mean, as tfjs' 'same' pooling) or max pooling; global average. */
class Pool : public Layer {
 public:
  Pool(const LayerSpec& s, Shape in, bool global) : s_(s), max_(s.kind == Kind::MaxPool) {
    if (global) {
      s_.kh = s_.sh = in.h;
      s_.kw = s_.sw = in.w;
      s_.padTop = s_.padLeft = s_.padBottom = s_.padRight = 0;
    }
  }
  Shape outShape(Shape in) const override {
    return {in.c, (in.h + s_.padTop + s_.padBottom - s_.kh) / s_.sh + 1,
            (in.w + s_.padLeft + s_.padRight - s_.kw) / s_.sw + 1, false};
  }
  std::unique_ptr<Pass> forward(Builder& b, const memory& in, Shape s) override {
    auto pass = std::make_unique<PoolPass>();
    pass->layer = this;
    const Shape o = outShape(s);
    pass->fpd = {{forwardKind(b.mode),
                  algorithm(),
                  in.get_desc(),
                  any({b.n, o.c, o.h, o.w}),
                  {s_.sh, s_.sw},
                  {s_.kh, s_.kw},
                  {s_.padTop, s_.padLeft},
                  {s_.padBottom, s_.padRight}},
                 b.engine};
    pass->out = memory(pass->fpd.dst_desc(), b.engine);
    Args args{{DNNL_ARG_SRC, in}, {DNNL_ARG_DST, pass->out}};
    if (max_ && b.mode == Mode::Train) {
      pass->workspace = memory(pass->fpd.workspace_desc(), b.engine);
      args[DNNL_ARG_WORKSPACE] = pass->workspace;
    }
    pass->src = in.get_desc();
    add(b.forward, b.stream, dnnl::pooling_forward(pass->fpd), args);
    return pass;
  }

 private:
  struct PoolPass : Pass {
    Pool* layer;
    dnnl::pooling_forward::primitive_desc fpd;
    memory::desc src;
    memory workspace;
    memory backward(Builder& b, const memory& dy, bool) override {
      const LayerSpec& s = layer->s_;
      dnnl::pooling_backward::primitive_desc pd({layer->algorithm(),
                                                 any(src.dims()),
                                                 fpd.dst_desc(),
                                                 {s.sh, s.sw},
                                                 {s.kh, s.kw},
                                                 {s.padTop, s.padLeft},
                                                 {s.padBottom, s.padRight}},
                                                b.engine, fpd);
      memory dyP = b.into(dy, pd.diff_dst_desc(), b.backward);
      memory dx(pd.diff_src_desc(), b.engine);
      Args args{{DNNL_ARG_DIFF_DST, dyP}, {DNNL_ARG_DIFF_SRC, dx}};
      if (workspace) args[DNNL_ARG_WORKSPACE] = workspace;
      add(b.backward, b.stream, dnnl::pooling_backward(pd), args);
      return dx;
    }
  };
  dnnl::algorithm algorithm() const {
    return max_ ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
  }
  LayerSpec s_;
  bool max_;
};

/** Inverted dropout by the caller's mask (0 or 1/(1 − rate)); nothing outside training. */
class Dropout : public Layer {
 public:
  Dropout(const LayerSpec& s) : flatMask_(s.flatMask) {}
  Shape outShape(Shape in) const override { return in; }
  std::unique_ptr<Pass> forward(Builder& b, const memory& in, Shape s) override {
    if (b.mode != Mode::Train) {
      auto through = std::make_unique<Through>();
      through->out = in;
      return through;
    }
    const memory::desc md = in.get_desc();
    // The mask as the caller draws it: NCHW (or the flattened NHWC vector after a Flatten).
    const memory::dims dims = md.dims();
    const tag layout = dims.size() == 2 ? tag::nc : flatMask_ ? tag::nhwc : tag::nchw;
    memory user(memory::desc(dims, dt::f32, layout), b.engine, nullptr);
    b.masks.push_back(user);
    auto pass = std::make_unique<DropoutPass>();
    pass->mask = b.into(user, md, b.forward);
    pass->pd = {{dnnl::algorithm::binary_mul, md, md, md}, b.engine};
    pass->out = memory(md, b.engine);
    add(b.forward, b.stream, dnnl::binary(pass->pd),
        Args{{DNNL_ARG_SRC_0, in}, {DNNL_ARG_SRC_1, pass->mask}, {DNNL_ARG_DST, pass->out}});
    (void)s;
    return pass;
  }

 private:
  struct Through : Pass {
    memory backward(Builder&, const memory& dy, bool) override { return dy; }
  };
  struct DropoutPass : Pass {
    dnnl::binary::primitive_desc pd;
    memory mask;
    memory backward(Builder& b, const memory& dy, bool) override {
      const memory::desc md = mask.get_desc();
      memory dyD = b.into(dy, md, b.backward);
      memory dx(md, b.engine);
      add(b.backward, b.stream, dnnl::binary(pd),
          Args{{DNNL_ARG_SRC_0, dyD}, {DNNL_ARG_SRC_1, mask}, {DNNL_ARG_DST, dx}});
      return dx;
    }
  };
  bool flatMask_;
};

/** The sum of two tensors of one shape (a residual block's join); each input's gradient is dy. */
class Add : public Layer {
 public:
  Shape outShape(Shape in) const override { return in; }
  std::unique_ptr<Pass> forward(Builder&, const memory&, Shape) override {
    throw std::invalid_argument("an addition reads two layers");
  }
  std::unique_ptr<Pass> forwardMany(Builder& b, const std::vector<memory>& in, const std::vector<Shape>&) override {
    if (in.size() != 2) throw std::invalid_argument("an addition reads two layers");
    auto pass = std::make_unique<AddPass>();
    pass->out = addInto(b, in[0], in[1], b.forward);
    return pass;
  }

 private:
  struct AddPass : Pass {
    memory backward(Builder&, const memory& dy, bool) override { return dy; }
    std::vector<memory> backwardMany(Builder&, const memory& dy, const std::vector<bool>& needDx) override {
      return std::vector<memory>(needDx.size(), dy);
    }
  };
};

}  // namespace

std::unique_ptr<Layer> makeLayer(const LayerSpec& spec, Shape in, dnnl::engine& engine, dnnl::stream& stream) {
  switch (spec.kind) {
    case Kind::Conv:
      return std::make_unique<Conv>(spec, in, engine, stream);
    case Kind::Dense:
      return std::make_unique<Dense>(spec, in, engine, stream);
    case Kind::BatchNorm:
      return std::make_unique<BatchNorm>(spec, in, engine, stream);
    case Kind::Relu:
      return std::make_unique<Relu>();
    case Kind::AvgPool:
    case Kind::MaxPool:
      return std::make_unique<Pool>(spec, in, false);
    case Kind::GlobalAvgPool:
      return std::make_unique<Pool>(spec, in, true);
    case Kind::Dropout:
      return std::make_unique<Dropout>(spec);
    case Kind::Add:
      return std::make_unique<Add>();
  }
  throw std::invalid_argument("unknown layer kind");
}

}  // namespace mldb
