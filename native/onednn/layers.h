// The layers a Network is made of, each a pair of oneDNN primitives (forward, backward).
#pragma once

#include "network.h"

namespace mldb {

/** What a layer adds its ops to while a pass (a batch size, a mode) is compiled. */
struct Builder {
  dnnl::engine& engine;
  dnnl::stream& stream;
  Ops& forward;
  Ops& backward;
  int n;
  Mode mode;
  /** Each Dropout's mask as the caller lays it out (its data set before each step), in order. */
  std::vector<dnnl::memory>& masks;
  /** Each BatchNorm's batch mean and variance (Statistics mode), in order. */
  std::vector<std::pair<dnnl::memory, dnnl::memory>>& statistics;

  /** `m` in layout `want`: `m` itself, or a new memory that a reorder added to `ops` fills. */
  dnnl::memory into(const dnnl::memory& m, const dnnl::memory::desc& want, Ops& ops);
};

/** a + c, c reordered into a's layout where it differs, into a new memory; the ops added to `ops`. */
dnnl::memory addInto(Builder& b, const dnnl::memory& a, const dnnl::memory& c, Ops& ops);

std::unique_ptr<Layer> makeLayer(const LayerSpec& spec, Shape in, dnnl::engine& engine, dnnl::stream& stream);

}  // namespace mldb
