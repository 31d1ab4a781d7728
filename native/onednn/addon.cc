// The Node.js face of Network (node-addon-api): a step, inference and batch-norm statistics run on
// libuv's worker pool (oneDNN's own OpenMP threads do the work), so the event loop stays free
// while a batch trains; weights move in and out in tfjs' layouts.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <dnnl.hpp>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loss.h"
#include "network.h"

namespace {

using mldb::Kind;
using mldb::LayerSpec;
using mldb::Network;

Kind kindOf(const std::string& name) {
  if (name == "conv") return Kind::Conv;
  if (name == "dense") return Kind::Dense;
  if (name == "batchNorm") return Kind::BatchNorm;
  if (name == "relu") return Kind::Relu;
  if (name == "avgPool") return Kind::AvgPool;
  if (name == "maxPool") return Kind::MaxPool;
  if (name == "globalAvgPool") return Kind::GlobalAvgPool;
  if (name == "dropout") return Kind::Dropout;
  if (name == "add") return Kind::Add;
  throw std::invalid_argument("unknown layer kind " + name);
}

int intOf(const Napi::Object& o, const char* key, int fallback) {
  return o.Has(key) ? o.Get(key).As<Napi::Number>().Int32Value() : fallback;
}

LayerSpec specOf(const Napi::Object& o) {
  LayerSpec s{kindOf(o.Get("kind").As<Napi::String>().Utf8Value())};
  s.units = intOf(o, "units", 0);
  s.kh = intOf(o, "kh", 1);
  s.kw = intOf(o, "kw", 1);
  s.sh = intOf(o, "sh", 1);
  s.sw = intOf(o, "sw", 1);
  s.padTop = intOf(o, "padTop", 0);
  s.padLeft = intOf(o, "padLeft", 0);
  s.padBottom = intOf(o, "padBottom", 0);
  s.padRight = intOf(o, "padRight", 0);
  s.groups = intOf(o, "groups", 1);
  if (o.Has("l2")) s.l2 = o.Get("l2").As<Napi::Number>().FloatValue();
  s.bias = o.Has("bias") && o.Get("bias").As<Napi::Boolean>().Value();
  s.flatMask = o.Has("flatMask") && o.Get("flatMask").As<Napi::Boolean>().Value();
  if (o.Has("epsilon")) s.epsilon = o.Get("epsilon").As<Napi::Number>().FloatValue();
  if (o.Has("momentum")) s.momentum = o.Get("momentum").As<Napi::Number>().DoubleValue();
  if (o.Has("inputs")) {
    auto list = o.Get("inputs").As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) s.inputs.push_back(list.Get(i).As<Napi::Number>().Int32Value());
  }
  return s;
}

Napi::Float32Array copyOf(Napi::Env env, const float* data, size_t n) {
  auto out = Napi::Float32Array::New(env, n);
  std::copy(data, data + n, out.Data());
  return out;
}

/**
 * The one thread every oneDNN call runs on. OpenMP keeps a pool of threads per thread that opens a
 * parallel region; reorders on Node's main thread and steps on libuv's workers made several pools,
 * more OpenMP threads than cores, and libgomp then gives up spinning after 100 turns: each of a
 * step's ~90 primitives paid a sleep and a wake-up (simple_cnn at 20×20: 27 ms a step against
 * 21 ms for the same network driven from one C++ thread). One thread, one pool, as in C++.
 */
class OneThread {
 public:
  OneThread() : thread_([this] { loop(); }) {}
  ~OneThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  /** Runs `task` there; its exception, if any, comes back through the future. */
  std::future<void> submit(std::function<void()> task) {
    auto packaged = std::make_shared<std::packaged_task<void()>>(std::move(task));
    std::future<void> done = packaged->get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back([packaged] { (*packaged)(); });
    }
    wake_.notify_one();
    return done;
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

OneThread& oneThread() {
  static OneThread* thread = new OneThread();  // never destroyed: it outlives every network
  return *thread;
}

/** Runs `task` on the oneDNN thread and waits for it. */
void onOneThread(std::function<void()> task) { oneThread().submit(std::move(task)).get(); }

/** Runs `work` off the event loop; resolves with what `result` makes of it back on the loop. */
class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, std::vector<Napi::Value> keep, std::function<void()> work,
      std::function<Napi::Value(Napi::Env)> result)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        result_(std::move(result)) {
    for (auto& v : keep) kept_.push_back(Napi::Persistent(v));
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      onOneThread(work_);
    } catch (const dnnl::error& e) {
      SetError(std::string("oneDNN: ") + e.what());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(result_(Env())); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::Reference<Napi::Value>> kept_;  // the caller's buffers, alive until done
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> result_;
};

class NetworkWrap : public Napi::ObjectWrap<NetworkWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Network",
        {InstanceMethod("setWeight", &NetworkWrap::SetWeight), InstanceMethod("getWeight", &NetworkWrap::GetWeight),
         InstanceMethod("step", &NetworkWrap::Step), InstanceMethod("predict", &NetworkWrap::Predict),
         InstanceMethod("moments", &NetworkWrap::Moments), InstanceMethod("release", &NetworkWrap::Release),
         InstanceAccessor("classes", &NetworkWrap::Classes, nullptr)});
  }

  // new Network({ channels, height, width }, layers)
  NetworkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetworkWrap>(info) {
    guard(info.Env(), [&] {
      auto input = info[0].As<Napi::Object>();
      mldb::Shape shape{intOf(input, "channels", 0), intOf(input, "height", 0), intOf(input, "width", 0), false};
      auto list = info[1].As<Napi::Array>();
      std::vector<LayerSpec> specs;
      for (uint32_t i = 0; i < list.Length(); i++) specs.push_back(specOf(list.Get(i).As<Napi::Object>()));
      onOneThread([&] { net_ = std::make_shared<Network>(shape, specs); });
    });
  }

 private:
  template <typename F>
  static void guard(Napi::Env env, F f) {
    try {
      f();
    } catch (const dnnl::error& e) {
      throw Napi::Error::New(env, std::string("oneDNN: ") + e.what());
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

  Napi::Value Classes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live(info)->classes()); }

  /** The network, or a JavaScript error once released. */
  Network* live(const Napi::CallbackInfo& info) {
    if (!net_) throw Napi::Error::New(info.Env(), "the network was released");
    return net_.get();
  }

  // release(): frees the network's tensors now rather than when the garbage collector gets to the
  // wrapper (an experiment trains many networks in one process); a step still running keeps its own.
  Napi::Value Release(const Napi::CallbackInfo& info) {
    std::shared_ptr<Network> last = std::move(net_);
    if (last) onOneThread([&] { last.reset(); });
    return info.Env().Undefined();
  }

  // setWeight(layer, key, values)
  Napi::Value SetWeight(const Napi::CallbackInfo& info) {
    auto values = info[2].As<Napi::Float32Array>();
    const int layer = info[0].As<Napi::Number>().Int32Value();
    const std::string key = info[1].As<Napi::String>().Utf8Value();
    Network* net = live(info);
    guard(info.Env(), [&] { onOneThread([&] { net->setWeight(layer, key, values.Data(), values.ElementLength()); }); });
    return info.Env().Undefined();
  }

  // getWeight(layer, key, out)
  Napi::Value GetWeight(const Napi::CallbackInfo& info) {
    auto out = info[2].As<Napi::Float32Array>();
    const int layer = info[0].As<Napi::Number>().Int32Value();
    const std::string key = info[1].As<Napi::String>().Utf8Value();
    Network* net = live(info);
    guard(info.Env(), [&] { onOneThread([&] { net->getWeight(layer, key, out.Data(), out.ElementLength()); }); });
    return info.Env().Undefined();
  }

  // step(images, targets, n, masks, scalars, softTargets) → Promise<{ loss, probabilities }>
  Napi::Value Step(const Napi::CallbackInfo& info) {
    auto images = info[0].As<Napi::Float32Array>();
    auto targets = info[1].As<Napi::Float32Array>();
    const int n = info[2].As<Napi::Number>().Int32Value();
    auto maskList = info[3].As<Napi::Array>();
    auto sc = info[4].As<Napi::Object>();
    const bool soft = info[5].As<Napi::Boolean>().Value();
    mldb::AdamScalars scalars{};
    auto num = [&](const char* k) { return sc.Get(k).As<Napi::Number>().FloatValue(); };
    scalars.beta1 = num("beta1");
    scalars.oneMinusBeta1 = num("oneMinusBeta1");
    scalars.oneMinusAccBeta1 = num("oneMinusAccBeta1");
    scalars.oneMinusAccBeta2 = num("oneMinusAccBeta2");
    scalars.negLr = num("negLr");
    std::vector<const float*> masks;
    std::vector<Napi::Value> keep{images, targets};
    for (uint32_t i = 0; i < maskList.Length(); i++) {
      auto m = maskList.Get(i).As<Napi::Float32Array>();
      masks.push_back(m.Data());
      keep.push_back(m);
    }
    live(info);
    auto net = net_;
    const float* x = images.Data();
    const float* y = targets.Data();
    auto result = std::make_shared<mldb::LossResult>();
    auto job = new Job(
        info.Env(), keep,
        [net, x, y, n, masks, scalars, soft, result] {
          const float* logits = net->forwardTrain(x, n, masks);
          *result = mldb::softmaxCrossEntropy(logits, y, n, net->classes(), soft);
          result->loss += net->backwardAndUpdate(result->dLogits.data(), scalars);
        },
        [result](Napi::Env env) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("loss", Napi::Number::New(env, result->loss));
          out.Set("probabilities", copyOf(env, result->probabilities.data(), result->probabilities.size()));
          return out;
        });
    job->Queue();
    return job->promise();
  }

  // predict(images, n) → Promise<Float32Array> (probabilities, n × classes)
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    auto images = info[0].As<Napi::Float32Array>();
    const int n = info[1].As<Napi::Number>().Int32Value();
    live(info);
    auto net = net_;
    const float* x = images.Data();
    auto probabilities = std::make_shared<std::vector<float>>();
    auto job = new Job(
        info.Env(), {images},
        [net, x, n, probabilities] {
          const float* logits = net->predict(x, n);
          const int classes = net->classes();
          probabilities->assign(logits, logits + size_t(n) * classes);
          for (int i = 0; i < n; i++) {
            float* p = probabilities->data() + size_t(i) * classes;
            float top = p[0];
            for (int k = 1; k < classes; k++) top = std::max(top, p[k]);
            float sum = 0;
            for (int k = 0; k < classes; k++) sum += p[k] = std::exp(p[k] - top);
            for (int k = 0; k < classes; k++) p[k] /= sum;
          }
        },
        [probabilities](Napi::Env env) -> Napi::Value {
          return copyOf(env, probabilities->data(), probabilities->size());
        });
    job->Queue();
    return job->promise();
  }

  // moments(images, n) → Promise<Array<{ mean, variance }>> (one per batch-norm layer)
  Napi::Value Moments(const Napi::CallbackInfo& info) {
    auto images = info[0].As<Napi::Float32Array>();
    const int n = info[1].As<Napi::Number>().Int32Value();
    live(info);
    auto net = net_;
    const float* x = images.Data();
    auto stats = std::make_shared<std::vector<std::pair<std::vector<float>, std::vector<float>>>>();
    auto job = new Job(
        info.Env(), {images}, [net, x, n, stats] { *stats = net->moments(x, n); },
        [stats](Napi::Env env) -> Napi::Value {
          auto out = Napi::Array::New(env, stats->size());
          for (size_t k = 0; k < stats->size(); k++) {
            auto entry = Napi::Object::New(env);
            entry.Set("mean", copyOf(env, (*stats)[k].first.data(), (*stats)[k].first.size()));
            entry.Set("variance", copyOf(env, (*stats)[k].second.data(), (*stats)[k].second.size()));
            out.Set(uint32_t(k), entry);
          }
          return out;
        });
    job->Queue();
    return job->promise();
  }

  std::shared_ptr<Network> net_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Network", NetworkWrap::Define(env));
  const dnnl_version_t* v = dnnl_version();
  exports.Set("version", Napi::String::New(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                                    std::to_string(v->patch)));
  return exports;
}

}  // namespace

NODE_API_MODULE(mldb_onednn, Init)
