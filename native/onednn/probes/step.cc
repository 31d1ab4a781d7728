// simple_cnn's whole training step (forward in training mode, softmax cross-entropy, backward,
// Adam) on oneDNN primitives, activations held in the layouts oneDNN picks: median ms of RUNS.
// The measurement that led to the addon (docs/training-engines.md); the addon itself is ../.
// Usage: step SIZE CHANNELS   (e.g. step 20 1, step 64 3); OMP_NUM_THREADS=2.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <dnnl.hpp>
#include <functional>
#include <unordered_map>
#include <vector>
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;
using args = std::unordered_map<int, memory>;

static engine eng(engine::kind::cpu, 0);
static stream strm(eng);
static std::vector<std::function<void()>> forward_ops, backward_ops;
static std::vector<std::pair<memory, memory>> params;  // weight, gradient

static memory filled(const memory::desc& md, float scale = 0.05f) {
  memory m(md, eng);
  float* p = static_cast<float*>(m.get_data_handle());
  size_t n = md.get_size() / sizeof(float);
  for (size_t i = 0; i < n; i++) p[i] = scale * (float((i * 7919) % 201) / 100.f - 1.f);
  return m;
}
static memory zeros(const memory::desc& md) { return filled(md, 0.f); }

// `m` in layout `want`: the same memory, or a reorder into a new one, run where the op runs.
static memory as(memory m, const memory::desc& want, std::vector<std::function<void()>>& ops) {
  if (m.get_desc() == want) return m;
  memory out(want, eng);
  auto r = reorder(m, out);
  ops.push_back([=]() mutable { r.execute(strm, m, out); });
  return out;
}

struct Value {
  memory x;
  memory dx;
};  // a value and (filled by the backward pass) its gradient

// Conv2D, stride 1, same padding, with bias. Returns y; registers its backward, which reads
// dy from `*dyp` once the later layer has produced it, and writes dx into `*dxp`.
struct Grad {
  memory g;
};
static std::vector<std::function<void()>> pending;  // backward closures in forward order

static memory conv(memory x, int cin, int cout, int k, int h, int n, bool first, std::shared_ptr<Grad> dy_slot,
                   std::shared_ptr<Grad> dx_slot) {
  int p = (k - 1) / 2;
  memory::dims src{n, cin, h, h}, wei{cout, cin, k, k}, dst{n, cout, h, h}, st{1, 1}, pl{p, p},
      pr{k - 1 - p, k - 1 - p};
  auto any = [](memory::dims d) { return memory::desc(d, dt::f32, tag::any); };
  memory::desc bias({cout}, dt::f32, tag::a);
  auto fpd = convolution_forward::primitive_desc(
      {prop_kind::forward_training, algorithm::convolution_direct, any(src), any(wei), bias, any(dst), st, pl, pr},
      eng);
  auto bwpd = convolution_backward_weights::primitive_desc(
      {algorithm::convolution_direct, any(src), any(wei), bias, any(dst), st, pl, pr}, eng, fpd);
  auto w = filled(fpd.weights_desc()), b = zeros(bias);
  auto dw = zeros(bwpd.diff_weights_desc()), db = zeros(bias);
  params.push_back({w, dw});
  params.push_back({b, db});
  auto xin = as(x, fpd.src_desc(), forward_ops);
  memory y(fpd.dst_desc(), eng);
  convolution_forward f(fpd);
  forward_ops.push_back([=]() {
    f.execute(strm, args{{DNNL_ARG_SRC, xin}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}});
  });
  convolution_backward_weights bw(bwpd);
  auto xw = xin.get_desc() == bwpd.src_desc() ? xin : memory(bwpd.src_desc(), eng);
  std::shared_ptr<convolution_backward_data> bd;
  std::shared_ptr<convolution_backward_data::primitive_desc> bdpd;
  if (!first) {
    bdpd = std::make_shared<convolution_backward_data::primitive_desc>(
        convolution_backward_data::desc(algorithm::convolution_direct, any(src), any(wei), any(dst), st, pl, pr), eng,
        fpd);
    bd = std::make_shared<convolution_backward_data>(*bdpd);
  }
  pending.push_back([=]() {
    std::vector<std::function<void()>> ops;
    auto dyw = as(dy_slot->g, bwpd.diff_dst_desc(), backward_ops);
    if (xw != xin) {
      auto r = reorder(xin, xw);
      memory a = xin, c = xw;
      backward_ops.push_back([=]() mutable { r.execute(strm, a, c); });
    }
    backward_ops.push_back([=]() {
      bw.execute(
          strm,
          args{{DNNL_ARG_SRC, xw}, {DNNL_ARG_DIFF_DST, dyw}, {DNNL_ARG_DIFF_WEIGHTS, dw}, {DNNL_ARG_DIFF_BIAS, db}});
    });
    if (bd) {
      auto dyd = as(dy_slot->g, bdpd->diff_dst_desc(), backward_ops);
      memory dx(bdpd->diff_src_desc(), eng);
      auto prim = bd;
      backward_ops.push_back([=]() {
        prim->execute(strm, args{{DNNL_ARG_DIFF_DST, dyd}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}});
      });
      dx_slot->g = dx;
    }
  });
  return y;
}

static memory bnorm(memory x, std::shared_ptr<Grad> dy_slot, std::shared_ptr<Grad> dx_slot) {
  auto md = x.get_desc();
  auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
  auto fpd = batch_normalization_forward::primitive_desc({prop_kind::forward_training, md, 1e-3f, flags}, eng);
  auto bpd = batch_normalization_backward::primitive_desc({prop_kind::backward, md, md, 1e-3f, flags}, eng, fpd);
  auto sc = filled(fpd.query_md(query::exec_arg_md, DNNL_ARG_SCALE), 0.f),
       sh = zeros(fpd.query_md(query::exec_arg_md, DNNL_ARG_SHIFT));
  float* s = static_cast<float*>(sc.get_data_handle());
  for (size_t i = 0; i < sc.get_desc().get_size() / 4; i++) s[i] = 1.f;
  auto dsc = zeros(sc.get_desc()), dsh = zeros(sh.get_desc());
  params.push_back({sc, dsc});
  params.push_back({sh, dsh});
  memory y(md, eng), mean(fpd.mean_desc(), eng), var(fpd.variance_desc(), eng);
  batch_normalization_forward f(fpd);
  forward_ops.push_back([=]() {
    f.execute(strm, args{{DNNL_ARG_SRC, x},
                         {DNNL_ARG_DST, y},
                         {DNNL_ARG_SCALE, sc},
                         {DNNL_ARG_SHIFT, sh},
                         {DNNL_ARG_MEAN, mean},
                         {DNNL_ARG_VARIANCE, var}});
  });
  batch_normalization_backward b(bpd);
  pending.push_back([=]() {
    auto dy = as(dy_slot->g, md, backward_ops);
    memory dx(md, eng);
    backward_ops.push_back([=]() {
      b.execute(strm, args{{DNNL_ARG_SRC, x},
                           {DNNL_ARG_DIFF_DST, dy},
                           {DNNL_ARG_SCALE, sc},
                           {DNNL_ARG_SHIFT, sh},
                           {DNNL_ARG_MEAN, mean},
                           {DNNL_ARG_VARIANCE, var},
                           {DNNL_ARG_DIFF_SRC, dx},
                           {DNNL_ARG_DIFF_SCALE, dsc},
                           {DNNL_ARG_DIFF_SHIFT, dsh}});
    });
    dx_slot->g = dx;
  });
  return y;
}

static memory relu(memory x, std::shared_ptr<Grad> dy_slot, std::shared_ptr<Grad> dx_slot) {
  auto md = x.get_desc();
  auto fpd = eltwise_forward::primitive_desc({prop_kind::forward_training, algorithm::eltwise_relu, md, 0.f}, eng);
  auto bpd = eltwise_backward::primitive_desc({algorithm::eltwise_relu, md, md, 0.f}, eng, fpd);
  memory y(md, eng);
  eltwise_forward f(fpd);
  forward_ops.push_back([=]() { f.execute(strm, args{{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}}); });
  eltwise_backward b(bpd);
  pending.push_back([=]() {
    auto dy = as(dy_slot->g, md, backward_ops);
    memory dx(md, eng);
    backward_ops.push_back([=]() {
      b.execute(strm, args{{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dx}});
    });
    dx_slot->g = dx;
  });
  return y;
}

// Average pooling (2×2 stride 2, same: exclude padding) or global (kernel = the whole image).
static memory pool(memory x, int n, int c, int h, bool global, std::shared_ptr<Grad> dy_slot,
                   std::shared_ptr<Grad> dx_slot) {
  int o = global ? 1 : (h + 1) / 2, k = global ? h : 2, pr = global ? 0 : o * 2 - h;
  auto md = x.get_desc();
  memory::desc od({n, c, o, o}, dt::f32, tag::any);
  auto fpd = pooling_forward::primitive_desc(
      {prop_kind::forward_training, algorithm::pooling_avg_exclude_padding, md, od, {k, k}, {k, k}, {0, 0}, {pr, pr}},
      eng);
  auto bpd = pooling_backward::primitive_desc(
      {algorithm::pooling_avg_exclude_padding, md, fpd.dst_desc(), {k, k}, {k, k}, {0, 0}, {pr, pr}}, eng, fpd);
  memory y(fpd.dst_desc(), eng);
  pooling_forward f(fpd);
  forward_ops.push_back([=]() { f.execute(strm, args{{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}}); });
  pooling_backward b(bpd);
  pending.push_back([=]() {
    auto dy = as(dy_slot->g, bpd.diff_dst_desc(), backward_ops);
    memory dx(bpd.diff_src_desc(), eng);
    backward_ops.push_back([=]() { b.execute(strm, args{{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dx}}); });
    dx_slot->g = dx;
  });
  return y;
}

// Dropout as a product with a fed mask (0 or 1/(1−rate)); its gradient the same product.
static memory dropout(memory x, std::shared_ptr<Grad> dy_slot, std::shared_ptr<Grad> dx_slot) {
  auto md = x.get_desc();
  auto mask = filled(md, 1.f);
  auto pd = binary::primitive_desc({algorithm::binary_mul, md, md, md}, eng);
  memory y(md, eng);
  binary f(pd);
  forward_ops.push_back([=]() {
    f.execute(strm, args{{DNNL_ARG_SRC_0, x}, {DNNL_ARG_SRC_1, mask}, {DNNL_ARG_DST, y}});
  });
  pending.push_back([=]() {
    auto dy = as(dy_slot->g, md, backward_ops);
    memory dx(md, eng);
    binary b(pd);
    backward_ops.push_back([=]() {
      b.execute(strm, args{{DNNL_ARG_SRC_0, dy}, {DNNL_ARG_SRC_1, mask}, {DNNL_ARG_DST, dx}});
    });
    dx_slot->g = dx;
  });
  return y;
}

int main(int argc, char** argv) {
  int S = atoi(argv[1]), C0 = atoi(argv[2]), N = 64;
  int runs = getenv("RUNS") ? atoi(getenv("RUNS")) : 20;
  memory image = filled({{N, C0, S, S}, dt::f32, tag::nchw}, 1.f);
  auto slot = [] { return std::make_shared<Grad>(); };
  // Gradient slots chain: each layer reads its dy from `next` and fills `cur`.
  auto cur = slot();  // image's gradient (unused)
  memory v = image;
  int h = S, cin = C0;
  int blocks[4][2] = {{16, 7}, {32, 5}, {64, 3}, {128, 3}};
  auto chain = [&](std::function<memory(std::shared_ptr<Grad>, std::shared_ptr<Grad>)> layer) {
    auto next = slot();
    v = layer(next, cur);
    cur = next;
  };
  for (int bi = 0; bi < 4; bi++) {
    int f = blocks[bi][0], k = blocks[bi][1];
    bool first = bi == 0;
    chain([&](auto dy, auto dx) { return conv(v, cin, f, k, h, N, first, dy, dx); });
    chain([&](auto dy, auto dx) { return bnorm(v, dy, dx); });
    chain([&](auto dy, auto dx) { return conv(v, f, f, k, h, N, false, dy, dx); });
    chain([&](auto dy, auto dx) { return bnorm(v, dy, dx); });
    chain([&](auto dy, auto dx) { return relu(v, dy, dx); });
    chain([&](auto dy, auto dx) { return pool(v, N, f, h, false, dy, dx); });
    h = (h + 1) / 2;
    chain([&](auto dy, auto dx) { return dropout(v, dy, dx); });
    cin = f;
  }
  chain([&](auto dy, auto dx) { return conv(v, 128, 256, 3, h, N, false, dy, dx); });
  chain([&](auto dy, auto dx) { return bnorm(v, dy, dx); });
  chain([&](auto dy, auto dx) { return conv(v, 256, 10, 3, h, N, false, dy, dx); });
  chain([&](auto dy, auto dx) { return pool(v, N, 10, h, true, dy, dx); });
  // Softmax cross-entropy on [N, 10] (plain C++: 640 values), its gradient into the last slot.
  memory logits_plain({{N, 10, 1, 1}, dt::f32, tag::nchw}, eng);
  memory logits = v;
  auto to_plain = reorder(logits, logits_plain);
  memory dlogits({{N, 10, 1, 1}, dt::f32, tag::nchw}, eng);
  forward_ops.push_back([=]() mutable {
    to_plain.execute(strm, logits, logits_plain);
    strm.wait();
    float* z = static_cast<float*>(logits_plain.get_data_handle());
    float* d = static_cast<float*>(dlogits.get_data_handle());
    for (int i = 0; i < N; i++) {
      float m = -1e30f, s = 0;
      for (int j = 0; j < 10; j++) m = std::max(m, z[i * 10 + j]);
      for (int j = 0; j < 10; j++) s += std::exp(z[i * 10 + j] - m);
      for (int j = 0; j < 10; j++) d[i * 10 + j] = (std::exp(z[i * 10 + j] - m) / s - (j == i % 10)) / N;
    }
  });
  cur->g = dlogits;
  for (auto it = pending.rbegin(); it != pending.rend(); ++it) (*it)();
  // Adam over every weight (as PyTorch's single-tensor loop, OpenMP over elements).
  std::vector<std::vector<float>> m1, m2;
  for (auto& p : params) {
    size_t n = p.first.get_desc().get_size() / 4;
    m1.emplace_back(n, 0.f);
    m2.emplace_back(n, 0.f);
  }
  auto adam = [&]() {
    for (size_t k = 0; k < params.size(); k++) {
      float* w = static_cast<float*>(params[k].first.get_data_handle());
      float* g = static_cast<float*>(params[k].second.get_data_handle());
      float* a = m1[k].data();
      float* b = m2[k].data();
      long n = long(m1[k].size());
#pragma omp parallel for if (n > 16384)
      for (long i = 0; i < n; i++) {
        a[i] = 0.9f * a[i] + 0.1f * g[i];
        b[i] = 0.999f * b[i] + 0.001f * g[i] * g[i];
        w[i] -= 1e-3f * (a[i] / 0.1f) / (std::sqrt(b[i] / 0.001f) + 1e-7f);
      }
    }
  };
  auto timed = [&](const std::function<void()>& f) {
    std::vector<double> t;
    for (int r = 0; r < runs + 2; r++) {
      auto a = std::chrono::steady_clock::now();
      f();
      strm.wait();
      if (r >= 2) t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  };
  double tf = timed([&] {
    for (auto& o : forward_ops) o();
  });
  double tb = timed([&] {
    for (auto& o : backward_ops) o();
  });
  double ta = timed(adam);
  double all = timed([&] {
    for (auto& o : forward_ops) o();
    for (auto& o : backward_ops) o();
    adam();
  });
  size_t np = 0;
  for (auto& p : params) np += p.first.get_desc().get_size() / 4;
  printf(
      "simple_cnn %dx%dx%d batch %d on oneDNN: forward %.2f backward %.2f adam %.2f; step %.2f ms (%zu weights, %zu "
      "ops)\n",
      S, S, C0, N, tf, tb, ta, all, np, forward_ops.size() + backward_ops.size());
}
