// MemoryRegistry: CRUD and filters, revisions, changes_since, expiry with an injected clock,
// subscribers, and the snapshot file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "registry/memory_registry.h"

namespace smmf::registry {
namespace {

InstanceRecord rec(std::string id, std::string model, std::string type = "llm") {
  InstanceRecord r;
  r.id = std::move(id);
  r.model = std::move(model);
  r.type = std::move(type);
  r.address = "http://127.0.0.1:9000";
  return r;
}

ListFilter by_model(std::string m) {
  ListFilter f;
  f.model = std::move(m);
  return f;
}
ListFilter by_type(std::string t) {
  ListFilter f;
  f.type = std::move(t);
  return f;
}
ListFilter by_health(bool healthy) {
  ListFilter f;
  f.healthy = healthy;
  return f;
}

class MemoryRegistryTest : public testing::Test {
 protected:
  MemoryRegistry::Options opts(size_t history = 4096) {
    MemoryRegistry::Options o;
    o.history_limit = history;
    o.clock = [this] { return now_.load(); };
    return o;
  }
  std::atomic<int64_t> now_{1'000'000};
};

TEST_F(MemoryRegistryTest, PutGetListAndFilters) {
  MemoryRegistry reg(opts());
  ASSERT_TRUE(reg.put(rec("a", "m1")));
  ASSERT_TRUE(reg.put(rec("b", "m2", "embedding")));
  ASSERT_TRUE(reg.put(rec("c", "m1")));
  EXPECT_EQ(reg.list().size(), 3u);
  EXPECT_EQ(reg.list(by_model("m1")).size(), 2u);
  EXPECT_EQ(reg.list(by_type("embedding")).size(), 1u);
  EXPECT_EQ(reg.list(by_health(false)).size(), 0u);
  EXPECT_EQ(reg.list(by_health(true)).size(), 3u);
  auto a = reg.get("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->last_heartbeat_ms, now_.load());
  EXPECT_EQ(a->registered_ms, now_.load());
  EXPECT_TRUE(a->healthy);
  EXPECT_FALSE(reg.get("zzz"));
  EXPECT_FALSE(reg.put(rec("", "m")));
}

TEST_F(MemoryRegistryTest, RevisionsAndReRegistration) {
  MemoryRegistry reg(opts());
  EXPECT_EQ(reg.revision(), 0u);
  ASSERT_TRUE(reg.put(rec("a", "m1")));
  EXPECT_EQ(reg.revision(), 1u);
  int64_t first = now_;
  now_ += 500;
  auto again = rec("a", "m1");
  again.weight = 5;
  ASSERT_TRUE(reg.put(again));
  EXPECT_EQ(reg.revision(), 2u);
  EXPECT_EQ(reg.get("a")->registered_ms, first);  // kept across re-registration
  EXPECT_EQ(reg.get("a")->last_heartbeat_ms, now_.load());
  EXPECT_EQ(reg.get("a")->weight, 5);

  // A heartbeat that only refreshes liveness is silent; a state change is an event.
  now_ += 500;
  ASSERT_TRUE(reg.heartbeat("a", "running", 4));
  EXPECT_EQ(reg.revision(), 2u);
  EXPECT_EQ(reg.get("a")->in_flight, 4);
  EXPECT_EQ(reg.get("a")->last_heartbeat_ms, now_.load());
  ASSERT_TRUE(reg.heartbeat("a", "stopping", 0));
  EXPECT_EQ(reg.revision(), 3u);
  EXPECT_EQ(reg.get("a")->state, "stopping");

  auto hb = reg.heartbeat("nope", "running", 0);
  ASSERT_FALSE(hb);
  EXPECT_EQ(hb.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(reg.remove("a"));
  EXPECT_EQ(reg.revision(), 4u);
  auto rm = reg.remove("a");
  ASSERT_FALSE(rm);
  EXPECT_EQ(rm.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(reg.revision(), 4u);
}

TEST_F(MemoryRegistryTest, ChangesSinceIncrementalAndSnapshots) {
  MemoryRegistry reg(opts(/*history=*/3));
  auto empty = reg.changes_since(0);
  EXPECT_TRUE(empty.snapshot);
  EXPECT_EQ(empty.revision, 0u);
  EXPECT_TRUE(empty.events.empty());

  ASSERT_TRUE(reg.put(rec("a", "m1")));  // 1
  ASSERT_TRUE(reg.put(rec("b", "m1")));  // 2
  ASSERT_TRUE(reg.remove("a"));          // 3
  auto inc = reg.changes_since(1);
  EXPECT_FALSE(inc.snapshot);
  EXPECT_EQ(inc.revision, 3u);
  ASSERT_EQ(inc.events.size(), 2u);
  EXPECT_EQ(inc.events[0].revision, 2u);
  EXPECT_EQ(inc.events[0].kind, EventKind::kPut);
  EXPECT_EQ(inc.events[0].record.id, "b");
  EXPECT_EQ(inc.events[1].revision, 3u);
  EXPECT_EQ(inc.events[1].kind, EventKind::kDelete);
  EXPECT_EQ(inc.events[1].record.id, "a");
  EXPECT_EQ(inc.events[1].record.model, "m1");

  auto none = reg.changes_since(3);
  EXPECT_FALSE(none.snapshot);
  EXPECT_TRUE(none.events.empty());

  auto snap = reg.changes_since(0);
  EXPECT_TRUE(snap.snapshot);
  ASSERT_EQ(snap.events.size(), 1u);
  EXPECT_EQ(snap.events[0].record.id, "b");

  ASSERT_TRUE(reg.put(rec("c", "m2")));  // 4: revision 1 falls out of the 3-event history
  auto still = reg.changes_since(1);
  EXPECT_FALSE(still.snapshot);
  EXPECT_EQ(still.events.size(), 3u);
  ASSERT_TRUE(reg.put(rec("d", "m2")));  // 5
  auto old = reg.changes_since(1);
  EXPECT_TRUE(old.snapshot);
  EXPECT_EQ(old.revision, 5u);
  EXPECT_EQ(old.events.size(), 3u);  // b, c, d

  // A revision from the future (the controller restarted): resync with a snapshot.
  EXPECT_TRUE(reg.changes_since(99).snapshot);
}

TEST_F(MemoryRegistryTest, ExpireMarksUnhealthyThenRemoves) {
  MemoryRegistry reg(opts());
  int64_t t0 = now_;
  ASSERT_TRUE(reg.put(rec("a", "m")));
  auto ext = rec("ext", "m");
  ext.labels["heartbeat"] = "none";
  ASSERT_TRUE(reg.put(ext));
  ASSERT_TRUE(reg.put(rec("b", "m")));
  uint64_t rev = reg.revision();

  reg.expire(t0 + 300, 300, 1500);  // not older than the limit yet
  EXPECT_EQ(reg.revision(), rev);
  reg.expire(t0 + 301, 300, 1500);
  EXPECT_FALSE(reg.get("a")->healthy);
  EXPECT_FALSE(reg.get("b")->healthy);
  EXPECT_TRUE(reg.get("ext")->healthy);
  EXPECT_EQ(reg.revision(), rev + 2);
  EXPECT_EQ(reg.list(by_health(true)).size(), 1u);
  reg.expire(t0 + 302, 300, 1500);  // already unhealthy: no new events
  EXPECT_EQ(reg.revision(), rev + 2);

  now_ = t0 + 1000;
  ASSERT_TRUE(reg.heartbeat("b", "", -1));  // healthy again: an event
  EXPECT_TRUE(reg.get("b")->healthy);
  EXPECT_EQ(reg.revision(), rev + 3);

  reg.expire(t0 + 1501, 600, 1500);  // b heartbeat 501 ms ago: healthy
  EXPECT_FALSE(reg.get("a"));
  ASSERT_TRUE(reg.get("b"));
  EXPECT_TRUE(reg.get("b")->healthy);
  EXPECT_TRUE(reg.get("ext"));
  auto c = reg.changes_since(rev + 3);
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].kind, EventKind::kDelete);
  EXPECT_EQ(c.events[0].record.id, "a");
}

TEST_F(MemoryRegistryTest, SubscribersRunAfterEachChangeWithoutTheLock) {
  MemoryRegistry reg(opts());
  std::vector<uint64_t> seen;
  reg.subscribe([&](uint64_t rev) {
    EXPECT_EQ(reg.revision(), rev);  // would deadlock if called under the registry's lock
    seen.push_back(rev);
  });
  ASSERT_TRUE(reg.put(rec("a", "m")));
  ASSERT_TRUE(reg.heartbeat("a", "running", 1));  // silent
  ASSERT_TRUE(reg.remove("a"));
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2}));
}

class SnapshotTest : public MemoryRegistryTest {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("smmf_registry_test_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    file_ = (dir_ / "registry.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  MemoryRegistry::Options file_opts() {
    auto o = opts();
    o.snapshot_file = file_;
    o.save_interval = std::chrono::milliseconds(20);
    return o;
  }
  std::filesystem::path dir_;
  std::string file_;
};

TEST_F(SnapshotTest, RoundTripAcrossTwoRegistries) {
  {
    MemoryRegistry reg(file_opts());
    auto a = rec("a", "m1");
    a.labels["zone"] = "x";
    ASSERT_TRUE(reg.put(a));
    ASSERT_TRUE(reg.put(rec("b", "m2")));
    ASSERT_TRUE(reg.put(rec("c", "m2")));
    ASSERT_TRUE(reg.remove("b"));
    now_ += 10'000;
    reg.expire(now_, 300, 60'000);  // a and c unhealthy: restored as they were
  }                                 // the destructor writes the pending change
  ASSERT_TRUE(std::filesystem::exists(file_));
  EXPECT_FALSE(std::filesystem::exists(file_ + ".tmp"));

  now_ += 5'000;
  MemoryRegistry again(file_opts());
  EXPECT_EQ(again.revision(), 6u);
  auto list = again.list();
  ASSERT_EQ(list.size(), 2u);
  auto a = again.get("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->labels.at("zone"), "x");
  EXPECT_FALSE(a->healthy);
  EXPECT_EQ(a->last_heartbeat_ms, now_.load());  // stamped at load
  EXPECT_FALSE(again.get("b"));
  // History starts at the restored revision: older revisions get a snapshot.
  EXPECT_TRUE(again.changes_since(5).snapshot);
  EXPECT_FALSE(again.changes_since(6).snapshot);
  ASSERT_TRUE(again.put(rec("d", "m3")));
  EXPECT_EQ(again.revision(), 7u);
}

TEST_F(SnapshotTest, SavedInTheBackgroundWithoutDestruction) {
  MemoryRegistry reg(file_opts());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(reg.put(rec(fmt::format("i{}", i), "m")));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  bool saw_all = false;
  while (!saw_all && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    MemoryRegistry::Options o = opts();
    o.snapshot_file = (dir_ / "copy.json").string();
    std::error_code ec;
    std::filesystem::copy_file(file_, o.snapshot_file,
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) continue;
    MemoryRegistry copy(o);
    saw_all = copy.revision() == 20u && copy.list().size() == 20u;
  }
  EXPECT_TRUE(saw_all);
}

TEST_F(SnapshotTest, CorruptOrMissingFileStartsEmpty) {
  {
    MemoryRegistry reg(file_opts());
    EXPECT_EQ(reg.list().size(), 0u);
  }
  EXPECT_FALSE(std::filesystem::exists(file_));  // nothing changed: nothing written
  {
    std::ofstream out(file_);
    out << "{not json";
  }
  MemoryRegistry reg(file_opts());
  EXPECT_EQ(reg.revision(), 0u);
  EXPECT_TRUE(reg.list().empty());
  ASSERT_TRUE(reg.put(rec("a", "m")));
  ASSERT_TRUE(reg.flush());
  MemoryRegistry::Options o = opts();
  o.snapshot_file = file_;
  MemoryRegistry reread(o);
  EXPECT_EQ(reread.list().size(), 1u);
}

}  // namespace
}  // namespace smmf::registry
