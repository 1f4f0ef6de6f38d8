#include "gateway/cluster_directory.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

namespace smmf::gateway {
namespace {

/// An engine that is never called: the directory only routes.
class NullEngine : public engines::Engine {
 public:
  engines::EngineInfo info() const override { return {}; }
  asio::awaitable<Status> load() override { co_return Status{}; }
  asio::awaitable<void> unload() override { co_return; }
  Status health() const override { return {}; }
  asio::awaitable<Result<protocol::GenerationResult>> chat(const protocol::ChatRequest&,
                                                           engines::DeltaSink*,
                                                           const engines::CallContext&) override {
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
};

registry::RegistryEvent put(std::string id, std::string model, std::string state = "running",
                            bool healthy = true, int weight = 1) {
  registry::RegistryEvent e;
  e.kind = registry::EventKind::kPut;
  e.record.id = std::move(id);
  e.record.model = std::move(model);
  e.record.address = "http://127.0.0.1:1";
  e.record.state = std::move(state);
  e.record.healthy = healthy;
  e.record.weight = weight;
  return e;
}

registry::Changes changes(std::vector<registry::RegistryEvent> events, bool snapshot = false) {
  registry::Changes c;
  c.snapshot = snapshot;
  c.events = std::move(events);
  return c;
}

class ClusterDirectoryTest : public testing::Test {
 protected:
  ClusterDirectoryTest()
      : dir_(make_cfg(), [](const registry::InstanceRecord&) {
          return Result<ClusterDirectory::Connection>(
              ClusterDirectory::Connection{std::make_shared<NullEngine>(), true});
        }) {}
  static RoutingConfig make_cfg() {
    RoutingConfig c;
    c.eject_after_failures = 2;
    c.eject_base = std::chrono::milliseconds(100000);
    return c;
  }
  ClusterDirectory dir_;
};

TEST_F(ClusterDirectoryTest, RoutesOnlyToRunningHealthyInstances) {
  EXPECT_FALSE(dir_.ready());
  dir_.apply(changes({put("w1/m", "m"), put("w2/m", "m", "stopped"),
                      put("w3/m", "m", "running", false), put("w4/e", "e")},
                     true));
  EXPECT_TRUE(dir_.ready());
  auto models = dir_.models();
  ASSERT_EQ(models.size(), 2u);
  for (int i = 0; i < 20; ++i) {
    auto p = dir_.pick("m");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->instance, "w1/m");
  }
  auto nf = dir_.pick("nope");
  ASSERT_FALSE(nf);
  EXPECT_EQ(nf.error().code, ErrorCode::kNotFound);
}

TEST_F(ClusterDirectoryTest, NoRoutableInstanceIsUnavailable) {
  dir_.apply(changes({put("w1/m", "m", "stopping")}, true));
  auto p = dir_.pick("m");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(dir_.models().empty());
}

TEST_F(ClusterDirectoryTest, ExcludesTriedInstancesAndCountsInFlight) {
  dir_.apply(changes({put("w1/m", "m"), put("w2/m", "m")}, true));
  auto a = dir_.pick("m");
  ASSERT_TRUE(a);
  PickHints h;
  h.exclude = {a->instance};
  auto b = dir_.pick("m", h);
  ASSERT_TRUE(b);
  EXPECT_NE(a->instance, b->instance);
  h.exclude.push_back(b->instance);
  EXPECT_FALSE(dir_.pick("m", h));
  int in_flight = 0;
  for (const auto& s : dir_.stats()) in_flight += s.in_flight;
  EXPECT_EQ(in_flight, 2);
  a->hold.reset();
  b->hold.reset();
  in_flight = 0;
  for (const auto& s : dir_.stats()) in_flight += s.in_flight;
  EXPECT_EQ(in_flight, 0);
}

TEST_F(ClusterDirectoryTest, ConsecutiveFailuresEjectAnInstance) {
  dir_.apply(changes({put("w1/m", "m"), put("w2/m", "m")}, true));
  ModelDirectory::Pick bad;
  bad.instance = "w1/m";
  dir_.report(bad, Error::unavailable("connection refused"));
  dir_.report(bad, Status{});  // a success resets the count
  dir_.report(bad, Error::unavailable("connection refused"));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(dir_.pick("m"));
  dir_.report(bad, Error::unavailable("connection refused"));
  // A client error is not the instance's fault.
  dir_.report(bad, Error::invalid("bad temperature"));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(dir_.pick("m")->instance, "w2/m");
  // With every instance ejected, they are still tried (panic mode) rather than failing.
  ModelDirectory::Pick other;
  other.instance = "w2/m";
  dir_.report(other, Error::unavailable("reset"));
  dir_.report(other, Error::unavailable("reset"));
  EXPECT_TRUE(dir_.pick("m"));
}

TEST_F(ClusterDirectoryTest, DeletesAndSnapshotsRemoveInstances) {
  dir_.apply(changes({put("w1/m", "m"), put("w2/m", "m")}, true));
  registry::RegistryEvent del;
  del.kind = registry::EventKind::kDelete;
  del.record.id = "w1/m";
  dir_.apply(changes({del}));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(dir_.pick("m")->instance, "w2/m");
  dir_.apply(changes({put("w3/m", "m")}, true));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(dir_.pick("m")->instance, "w3/m");
}

TEST_F(ClusterDirectoryTest, ANewControllerEpochKeepsKnownInstancesForAGracePeriod) {
  dir_.set_restart_grace(std::chrono::milliseconds(50));
  dir_.apply(changes({put("w1/m", "m"), put("w2/m", "m")}, true), "0");
  // The controller restarted with an empty registry: nothing is dropped yet.
  dir_.apply(changes({}, true), "1");
  EXPECT_TRUE(dir_.pick("m"));
  // w1 re-registers; w2 does not and is gone after the grace period.
  dir_.apply(changes({put("w1/m", "m")}), "1");
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  dir_.apply(changes({}), "1");
  for (int i = 0; i < 10; ++i) EXPECT_EQ(dir_.pick("m")->instance, "w1/m");
}

}  // namespace
}  // namespace smmf::gateway
