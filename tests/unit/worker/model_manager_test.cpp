// ModelManager residency: on-demand loads, waiting calls, LRU eviction under max_loaded_models /
// max_loaded_bytes, idle unloads. A fake engine counts loads and unloads and checks that no call
// ever runs on an unloaded engine.
#include "worker/model_manager.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace smmf::worker {
namespace {
using namespace std::chrono_literals;

/// What all fake engines of one test share.
struct Stats {
  std::mutex mu;
  std::map<std::string, int> loads, unloads;
  std::atomic<int> loaded{0}, max_loaded{0};
  std::atomic<int> calls_on_unloaded{0};
  std::chrono::milliseconds load_delay{5};
  std::chrono::milliseconds call_time{5};
  std::set<std::string> fail_load;
  int loads_of(const std::string& m) {
    std::lock_guard l(mu);
    return loads[m];
  }
  int unloads_of(const std::string& m) {
    std::lock_guard l(mu);
    return unloads[m];
  }
};

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(asio::use_awaitable);
}

class FakeEngine : public engines::Engine {
 public:
  FakeEngine(std::string model, std::shared_ptr<Stats> stats)
      : model_(std::move(model)), stats_(std::move(stats)) {}
  engines::EngineInfo info() const override { return {"fake", protocol::ModelType::kLlm, 64, 0}; }
  asio::awaitable<Status> load() override {
    co_await sleep_for(stats_->load_delay);
    if (stats_->fail_load.contains(model_)) co_return Error::internal("bad weights");
    {
      std::lock_guard l(stats_->mu);
      stats_->loads[model_]++;
    }
    int now = ++stats_->loaded;
    int seen = stats_->max_loaded.load();
    while (now > seen && !stats_->max_loaded.compare_exchange_weak(seen, now)) {
    }
    loaded_ = true;
    co_return Status{};
  }
  asio::awaitable<void> unload() override {
    if (!loaded_.exchange(false)) co_return;
    co_await sleep_for(1ms);
    --stats_->loaded;
    std::lock_guard l(stats_->mu);
    stats_->unloads[model_]++;
  }
  Status health() const override { return {}; }
  asio::awaitable<Result<protocol::GenerationResult>> chat(const protocol::ChatRequest&,
                                                           engines::DeltaSink*,
                                                           const engines::CallContext&) override {
    if (!loaded_) ++stats_->calls_on_unloaded;
    co_await sleep_for(stats_->call_time);
    if (!loaded_) ++stats_->calls_on_unloaded;
    co_return protocol::GenerationResult{};
  }
  asio::awaitable<Result<protocol::GenerationResult>> complete(
      const protocol::CompletionRequest&, engines::DeltaSink*,
      const engines::CallContext&) override {
    co_return protocol::GenerationResult{};
  }
  asio::awaitable<Result<protocol::EmbeddingResult>> embed(const protocol::EmbeddingRequest&,
                                                           const engines::CallContext&) override {
    co_return protocol::EmbeddingResult{};
  }

 private:
  std::string model_;
  std::shared_ptr<Stats> stats_;
  std::atomic<bool> loaded_{false};
};

class FakeFactory : public engines::EngineFactory {
 public:
  explicit FakeFactory(std::shared_ptr<Stats> s) : stats_(std::move(s)) {}
  std::string name() const override { return "fake"; }
  Result<std::shared_ptr<engines::Engine>> create(const ModelConfig& cfg) const override {
    return std::shared_ptr<engines::Engine>(std::make_shared<FakeEngine>(cfg.name, stats_));
  }

 private:
  std::shared_ptr<Stats> stats_;
};

class ModelManagerTest : public testing::Test {
 protected:
  ModelManagerTest() : stats_(std::make_shared<Stats>()), work_(ioc_.get_executor()) {
    engines_.add(std::make_unique<FakeFactory>(stats_));
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~ModelManagerTest() override {
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void make(ResidencyLimits limits) { mm_ = std::make_unique<ModelManager>(engines_, limits); }

  /// Adds a model with a model file of `bytes` bytes (the residency estimate).
  void add(const std::string& name, bool on_demand, std::chrono::milliseconds idle = 0ms,
           size_t bytes = 16) {
    std::filesystem::create_directories(dir_);
    ModelConfig m;
    m.name = name;
    m.engine = "fake";
    m.path = (dir_ / (name + ".gguf")).string();
    std::ofstream(m.path, std::ios::binary) << std::string(bytes, 'x');
    m.on_demand = on_demand;
    m.idle_unload_after = idle;
    ASSERT_TRUE(mm_->add(m));
  }

  template <class T>
  T run(asio::awaitable<T> a) {
    return asio::co_spawn(ioc_, std::move(a), asio::use_future).get();
  }

  /// Leases `model`, holds it for one fake chat call, returns the outcome.
  asio::awaitable<Status> call(std::string model) {
    auto lease = co_await mm_->lease(model);
    if (!lease) co_return lease.error();
    protocol::ChatRequest req;
    engines::CallContext ctx;
    auto r = co_await lease->engine().chat(req, nullptr, ctx);
    if (!r) co_return r.error();
    co_return Status{};
  }

  ModelState state(const std::string& name) {
    for (const auto& m : mm_->list())
      if (m.name == name) return m.state;
    return ModelState::kFailed;
  }

  std::shared_ptr<Stats> stats_;
  engines::EngineRegistry engines_;
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::unique_ptr<ModelManager> mm_;
  std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                               ("smmf-mm-test-" + std::to_string(::getpid()) + "-" +
                                testing::UnitTest::GetInstance()->current_test_info()->name());
};

TEST_F(ModelManagerTest, OnDemandModelIsIdleUntilItsFirstCall) {
  make({});
  add("a", true);
  ASSERT_TRUE(run(mm_->start("a")));
  EXPECT_EQ(state("a"), ModelState::kIdle);
  EXPECT_EQ(stats_->loads_of("a"), 0);
  EXPECT_TRUE(mm_->loads_on_demand("a"));
  EXPECT_FALSE(mm_->acquire("a"));  // the non-waiting path does not load
  ASSERT_TRUE(run(call("a")));
  EXPECT_EQ(stats_->loads_of("a"), 1);
  EXPECT_EQ(state("a"), ModelState::kRunning);
  EXPECT_EQ(stats_->calls_on_unloaded, 0);
}

TEST_F(ModelManagerTest, ConcurrentCallsShareOneLoad) {
  stats_->load_delay = 100ms;
  make({});
  add("a", true);
  ASSERT_TRUE(run(mm_->start("a")));
  std::vector<std::future<Status>> calls;
  for (int i = 0; i < 10; ++i) calls.push_back(asio::co_spawn(ioc_, call("a"), asio::use_future));
  for (auto& f : calls) EXPECT_TRUE(f.get());
  EXPECT_EQ(stats_->loads_of("a"), 1);
}

TEST_F(ModelManagerTest, EagerModelsLoadAtStartAndStoppedOnesFail) {
  make({});
  add("e", false);
  EXPECT_FALSE(run(mm_->lease("e")));  // stopped: no waiting
  ASSERT_TRUE(run(mm_->start("e")));
  EXPECT_EQ(stats_->loads_of("e"), 1);
  EXPECT_EQ(state("e"), ModelState::kRunning);
  ASSERT_TRUE(run(mm_->stop("e")));
  auto r = run(mm_->lease("e"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(ModelManagerTest, CallsDuringAnEagerStartWaitForIt) {
  stats_->load_delay = 200ms;
  make({});
  add("e", false);
  auto started = asio::co_spawn(ioc_, mm_->start("e"), asio::use_future);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(mm_->loads_on_demand("e"));
  EXPECT_TRUE(run(call("e")));
  EXPECT_TRUE(started.get());
  EXPECT_EQ(stats_->loads_of("e"), 1);
}

TEST_F(ModelManagerTest, MaxLoadedModelsEvictsTheLeastRecentlyUsed) {
  ResidencyLimits l;
  l.max_loaded_models = 2;
  make(l);
  for (auto n : {"a", "b", "c"}) {
    add(n, true);
    ASSERT_TRUE(run(mm_->start(n)));
  }
  ASSERT_TRUE(run(call("a")));
  std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(run(call("b")));
  std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(run(call("a")));  // b is now the least recently used
  std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(run(call("c")));
  EXPECT_EQ(state("b"), ModelState::kIdle);
  EXPECT_EQ(state("a"), ModelState::kRunning);
  EXPECT_EQ(state("c"), ModelState::kRunning);
  EXPECT_EQ(stats_->unloads_of("b"), 1);
  EXPECT_EQ(stats_->unloads_of("a"), 0);
  EXPECT_LE(stats_->max_loaded, 2);
}

TEST_F(ModelManagerTest, AModelWithCallsInFlightIsNeverEvicted) {
  ResidencyLimits l;
  l.max_loaded_models = 1;
  make(l);
  add("a", true);
  add("b", true);
  ASSERT_TRUE(run(mm_->start("a")));
  ASSERT_TRUE(run(mm_->start("b")));
  auto held = run(mm_->lease("a"));
  ASSERT_TRUE(held);
  auto b = asio::co_spawn(ioc_, call("b"), asio::use_future);
  // b waits: a has a call in flight. New calls for a wait too (a is draining).
  EXPECT_EQ(b.wait_for(300ms), std::future_status::timeout);
  EXPECT_EQ(stats_->unloads_of("a"), 0);
  EXPECT_EQ(stats_->loads_of("b"), 0);
  EXPECT_FALSE(mm_->acquire("a"));
  held = Error::cancelled();  // the call ends
  EXPECT_TRUE(b.get());
  EXPECT_EQ(stats_->unloads_of("a"), 1);
  EXPECT_EQ(stats_->loads_of("b"), 1);
  EXPECT_EQ(stats_->max_loaded, 1);
  EXPECT_EQ(stats_->calls_on_unloaded, 0);
}

TEST_F(ModelManagerTest, AlternatingConcurrentCallsStayWithinTheLimit) {
  stats_->load_delay = 3ms;
  stats_->call_time = 3ms;
  ResidencyLimits l;
  l.max_loaded_models = 2;
  make(l);
  const std::vector<std::string> names{"a", "b", "c"};
  for (const auto& n : names) {
    add(n, true);
    ASSERT_TRUE(run(mm_->start(n)));
  }
  std::vector<std::future<Status>> calls;
  for (int client = 0; client < 6; ++client) {
    calls.push_back(asio::co_spawn(
        ioc_,
        [this, client, names]() -> asio::awaitable<Status> {
          for (int k = 0; k < 8; ++k) {
            Status st = co_await call(names[(client + k) % names.size()]);
            if (!st) co_return st;
          }
          co_return Status{};
        },
        asio::use_future));
  }
  for (auto& f : calls) {
    auto st = f.get();
    EXPECT_TRUE(st) << (st ? "" : st.error().message);
  }
  EXPECT_LE(stats_->max_loaded, 2);
  EXPECT_EQ(stats_->calls_on_unloaded, 0);
}

TEST_F(ModelManagerTest, MaxLoadedBytesCountsModelFileSizes) {
  ResidencyLimits l;
  l.max_loaded_bytes = 1000;
  make(l);
  add("small", true, 0ms, 300);
  add("big", true, 0ms, 800);
  add("huge", true, 0ms, 2000);
  for (auto n : {"small", "big", "huge"}) ASSERT_TRUE(run(mm_->start(n)));
  ASSERT_TRUE(run(call("small")));
  ASSERT_TRUE(run(call("big")));  // 300 + 800 > 1000: small goes
  EXPECT_EQ(state("small"), ModelState::kIdle);
  auto r = run(call("huge"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("max_loaded_bytes"), std::string::npos) << r.error().message;
  EXPECT_EQ(state("huge"), ModelState::kIdle);  // no room is not a failure
  EXPECT_EQ(state("big"), ModelState::kRunning);
}

TEST_F(ModelManagerTest, IdleModelsUnloadAfterIdleUnloadAfter) {
  make({});
  add("a", true, 100ms);
  add("keep", false);
  ASSERT_TRUE(run(mm_->start("a")));
  ASSERT_TRUE(run(mm_->start("keep")));
  auto loop = asio::co_spawn(ioc_, mm_->unload_idle_loop(), asio::use_future);
  ASSERT_TRUE(run(call("a")));
  EXPECT_EQ(stats_->loads_of("a"), 1);
  // "idle" already while it unloads; the unload count follows.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((state("a") != ModelState::kIdle || stats_->unloads_of("a") == 0) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(state("a"), ModelState::kIdle);
  EXPECT_EQ(stats_->unloads_of("a"), 1);
  EXPECT_EQ(state("keep"), ModelState::kRunning);  // no idle_unload_after: stays
  ASSERT_TRUE(run(call("a")));                     // loads again
  EXPECT_EQ(stats_->loads_of("a"), 2);
  run(mm_->stop_all());
  EXPECT_EQ(loop.wait_for(5s), std::future_status::ready);
}

TEST_F(ModelManagerTest, TooManyWaitersAreRefused) {
  stats_->load_delay = 1500ms;  // long enough for both waiters to park on a loaded machine
  ResidencyLimits l;
  l.max_load_waiters = 2;
  make(l);
  add("a", true);
  ASSERT_TRUE(run(mm_->start("a")));
  auto w1 = asio::co_spawn(ioc_, mm_->lease("a"), asio::use_future);
  auto w2 = asio::co_spawn(ioc_, mm_->lease("a"), asio::use_future);
  std::this_thread::sleep_for(300ms);
  auto third = run(mm_->lease("a"));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kResourceExhausted);
  EXPECT_TRUE(w1.get());
  EXPECT_TRUE(w2.get());
}

TEST_F(ModelManagerTest, WaitingIsBoundedByLoadTimeout) {
  stats_->load_delay = 2500ms;
  ResidencyLimits l;
  l.load_timeout = 100ms;
  make(l);
  add("a", true);
  ASSERT_TRUE(run(mm_->start("a")));
  auto t0 = std::chrono::steady_clock::now();
  auto r = run(mm_->lease("a"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2000ms);
  // The load itself goes on; calls after it use it.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (state("a") != ModelState::kRunning && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(run(call("a")));
  EXPECT_EQ(stats_->loads_of("a"), 1);
}

TEST_F(ModelManagerTest, AFailedLoadFailsItsWaitersAndStartMakesItIdleAgain) {
  stats_->fail_load.insert("a");
  make({});
  add("a", true);
  ASSERT_TRUE(run(mm_->start("a")));
  auto r = run(mm_->lease("a"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bad weights"), std::string::npos);
  EXPECT_EQ(state("a"), ModelState::kFailed);
  stats_->fail_load.clear();
  ASSERT_TRUE(run(mm_->start("a")));
  EXPECT_EQ(state("a"), ModelState::kIdle);
  EXPECT_TRUE(run(call("a")));
}

TEST_F(ModelManagerTest, StopFailsWaitersAndLeavesTheModelStopped) {
  stats_->load_delay = 200ms;
  make({});
  add("a", true);
  ASSERT_TRUE(run(mm_->start("a")));
  auto w = asio::co_spawn(ioc_, mm_->lease("a"), asio::use_future);
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(run(mm_->stop("a")));
  auto r = w.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  std::this_thread::sleep_for(300ms);  // the interrupted load ends without running the model
  EXPECT_NE(state("a"), ModelState::kRunning);
}

TEST_F(ModelManagerTest, EagerStartsRespectTheLimitToo) {
  ResidencyLimits l;
  l.max_loaded_models = 1;
  make(l);
  add("x", false);
  add("y", false);
  ASSERT_TRUE(run(mm_->start("x")));
  ASSERT_TRUE(run(mm_->start("y")));
  EXPECT_EQ(state("x"), ModelState::kIdle);  // evicted; reloads on demand
  EXPECT_EQ(state("y"), ModelState::kRunning);
  EXPECT_TRUE(run(call("x")));
  EXPECT_EQ(state("y"), ModelState::kIdle);
  EXPECT_EQ(stats_->max_loaded, 1);
}

}  // namespace
}  // namespace smmf::worker
