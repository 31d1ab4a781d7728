// oneDNN's convolutions of a network's layers, outside Node: forward training, backward data,
// backward weights, each in the layout oneDNN picks (held blocked), median ms of RUNS.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dnnl.hpp>
#include <functional>
#include <vector>
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static double median_ms(int runs, const std::function<void()>& f) {
  f();
  f();
  std::vector<double> t;
  for (int i = 0; i < runs; i++) {
    auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

static memory filled(const memory::desc& md, engine& eng) {
  memory m(md, eng);
  float* p = static_cast<float*>(m.get_data_handle());
  size_t n = md.get_size() / sizeof(float);
  for (size_t i = 0; i < n; i++) p[i] = 0.01f * float((i * 7919) % 201) - 1.0f;
  return m;
}

int main(int argc, char** argv) {
  // args: N then groups of C,O,K,H (stride 1, same padding)
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  int N = atoi(argv[1]);
  int runs = getenv("RUNS") ? atoi(getenv("RUNS")) : 30;
  double tf = 0, tbd = 0, tbw = 0;
  for (int a = 2; a < argc; a++) {
    int C, O, K, H;
    sscanf(argv[a], "%d,%d,%d,%d", &C, &O, &K, &H);
    int p = (K - 1) / 2;
    memory::dims src{N, C, H, H}, wei{O, C, K, K}, bia{O}, dst{N, O, H, H}, st{1, 1}, pl{p, p},
        pr{K - 1 - p, K - 1 - p};
    auto any = [](memory::dims d) { return memory::desc(d, dt::f32, tag::any); };
    auto fd = convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, any(src), any(wei),
                                        memory::desc(bia, dt::f32, tag::a), any(dst), st, pl, pr);
    auto fpd = convolution_forward::primitive_desc(fd, eng);
    auto bdd = convolution_backward_data::desc(algorithm::convolution_direct, any(src), any(wei), any(dst), st, pl, pr);
    auto bdpd = convolution_backward_data::primitive_desc(bdd, eng, fpd);
    auto bwd = convolution_backward_weights::desc(algorithm::convolution_direct, any(src), any(wei),
                                                  memory::desc(bia, dt::f32, tag::a), any(dst), st, pl, pr);
    auto bwpd = convolution_backward_weights::primitive_desc(bwd, eng, fpd);
    auto x = filled(fpd.src_desc(), eng), w = filled(fpd.weights_desc(), eng), b = filled(fpd.bias_desc(), eng);
    memory y(fpd.dst_desc(), eng);
    auto dy = filled(bdpd.diff_dst_desc(), eng);
    memory dx(bdpd.diff_src_desc(), eng), dw(bwpd.diff_weights_desc(), eng), db(bwpd.diff_bias_desc(), eng);
    auto dyw = bwpd.diff_dst_desc() == bdpd.diff_dst_desc() ? dy : filled(bwpd.diff_dst_desc(), eng);
    auto xw = bwpd.src_desc() == fpd.src_desc() ? x : filled(bwpd.src_desc(), eng);
    convolution_forward f(fpd);
    convolution_backward_data bd(bdpd);
    convolution_backward_weights bw(bwpd);
    double t1 = median_ms(runs, [&] {
      f.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}});
      s.wait();
    });
    double t2 = C == 1 || C == 3 ? 0 : median_ms(runs, [&] {
      bd.execute(s, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}});
      s.wait();
    });
    double t3 = median_ms(runs, [&] {
      bw.execute(s,
                 {{DNNL_ARG_SRC, xw}, {DNNL_ARG_DIFF_DST, dyw}, {DNNL_ARG_DIFF_WEIGHTS, dw}, {DNNL_ARG_DIFF_BIAS, db}});
      s.wait();
    });
    printf("%3d->%3d %dx%d @%3d  fwd %6.2f  bwd_data %6.2f  bwd_w %6.2f   [%s | %s]\n", C, O, K, K, H, t1, t2, t3,
           fpd.impl_info_str(), bwpd.impl_info_str());
    tf += t1;
    tbd += t2;
    tbw += t3;
  }
  printf("total fwd %.2f bwd_data %.2f bwd_w %.2f all %.2f ms\n", tf, tbd, tbw, tf + tbd + tbw);
}
