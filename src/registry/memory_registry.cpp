#include "registry/memory_registry.h"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace smmf::registry {
namespace json = boost::json;

namespace {

constexpr int kSnapshotVersion = 1;

bool matches(const InstanceRecord& r, const ListFilter& f) {
  if (!f.model.empty() && r.model != f.model) return false;
  if (!f.type.empty() && r.type != f.type) return false;
  if (f.healthy && r.healthy != *f.healthy) return false;
  return true;
}

bool heartbeat_exempt(const InstanceRecord& r) {
  auto it = r.labels.find("heartbeat");
  return it != r.labels.end() && it->second == "none";
}

}  // namespace

MemoryRegistry::MemoryRegistry() : MemoryRegistry(Options{}) {}

namespace {
MemoryRegistry::Options with_file(std::string snapshot_file) {
  MemoryRegistry::Options o;
  o.snapshot_file = std::move(snapshot_file);
  return o;
}
}  // namespace

MemoryRegistry::MemoryRegistry(std::string snapshot_file)
    : MemoryRegistry(with_file(std::move(snapshot_file))) {}

MemoryRegistry::MemoryRegistry(Options opts) : opts_(std::move(opts)) {
  if (opts_.history_limit == 0) opts_.history_limit = 1;
  revision_ = history_start_ = opts_.first_revision;
  if (opts_.snapshot_file.empty()) return;
  load_snapshot();
  saver_ = std::thread([this] { saver_loop(); });
}

MemoryRegistry::~MemoryRegistry() {
  if (!saver_.joinable()) return;
  {
    std::lock_guard lock(save_mu_);
    stop_ = true;
  }
  save_cv_.notify_all();
  saver_.join();
}

int64_t MemoryRegistry::now() const {
  if (opts_.clock) return opts_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t MemoryRegistry::record_locked(EventKind kind, const InstanceRecord& rec) {
  RegistryEvent e;
  e.revision = ++revision_;
  e.kind = kind;
  if (kind == EventKind::kPut) {
    e.record = rec;
  } else {
    e.record.id = rec.id;
    e.record.model = rec.model;
  }
  history_.push_back(std::move(e));
  while (history_.size() > opts_.history_limit) {
    history_start_ = history_.front().revision;
    history_.pop_front();
  }
  return revision_;
}

void MemoryRegistry::changed(uint64_t revision) {
  if (!opts_.snapshot_file.empty()) {
    {
      std::lock_guard lock(save_mu_);
      dirty_ = true;
    }
    save_cv_.notify_one();
  }
  std::vector<std::function<void(uint64_t)>> subs;
  {
    std::lock_guard lock(subs_mu_);
    subs = subscribers_;
  }
  for (const auto& s : subs) s(revision);
}

Status MemoryRegistry::put(InstanceRecord rec) {
  if (rec.id.empty()) return Error::invalid("id is required", "id");
  uint64_t rev = 0;
  {
    std::lock_guard lock(mu_);
    int64_t t = now();
    auto it = instances_.find(rec.id);
    rec.registered_ms = it != instances_.end() ? it->second.registered_ms : t;
    rec.last_heartbeat_ms = t;
    rec.healthy = true;
    rev = record_locked(EventKind::kPut, rec);
    instances_[rec.id] = std::move(rec);
  }
  changed(rev);
  return {};
}

Status MemoryRegistry::heartbeat(const std::string& id, const std::string& state, int in_flight) {
  uint64_t rev = 0;
  {
    std::lock_guard lock(mu_);
    auto it = instances_.find(id);
    if (it == instances_.end())
      return Error::not_found(fmt::format("instance '{}' is not registered", id), "id");
    auto& r = it->second;
    r.last_heartbeat_ms = now();
    if (in_flight >= 0) r.in_flight = in_flight;
    bool visible = false;
    if (!state.empty() && state != r.state) {
      r.state = state;
      if (state != "failed") r.failure.clear();
      visible = true;
    }
    if (!r.healthy) {
      r.healthy = true;
      visible = true;
    }
    if (visible) rev = record_locked(EventKind::kPut, r);
  }
  if (rev) changed(rev);
  return {};
}

Status MemoryRegistry::remove(const std::string& id) {
  uint64_t rev = 0;
  {
    std::lock_guard lock(mu_);
    auto it = instances_.find(id);
    if (it == instances_.end())
      return Error::not_found(fmt::format("instance '{}' is not registered", id), "id");
    rev = record_locked(EventKind::kDelete, it->second);
    instances_.erase(it);
  }
  changed(rev);
  return {};
}

std::vector<InstanceRecord> MemoryRegistry::list(const ListFilter& filter) const {
  std::vector<InstanceRecord> out;
  std::lock_guard lock(mu_);
  for (const auto& [id, r] : instances_)
    if (matches(r, filter)) out.push_back(r);
  return out;
}

std::optional<InstanceRecord> MemoryRegistry::get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = instances_.find(id);
  if (it == instances_.end()) return std::nullopt;
  return it->second;
}

Changes MemoryRegistry::changes_since(uint64_t since) const {
  Changes c;
  std::lock_guard lock(mu_);
  c.revision = revision_;
  // A revision from the future means the registry restarted without its history: resync.
  if (since == 0 || since < history_start_ || since > revision_) {
    c.snapshot = true;
    c.events.reserve(instances_.size());
    for (const auto& [id, r] : instances_) {
      RegistryEvent e;
      e.revision = revision_;
      e.kind = EventKind::kPut;
      e.record = r;
      c.events.push_back(std::move(e));
    }
    return c;
  }
  // history_ is sorted by revision and contiguous: skip straight to the first newer event.
  size_t skip = history_.empty() ? 0 : since + 1 - history_.front().revision;
  for (size_t i = skip; i < history_.size(); ++i) c.events.push_back(history_[i]);
  return c;
}

uint64_t MemoryRegistry::revision() const {
  std::lock_guard lock(mu_);
  return revision_;
}

void MemoryRegistry::subscribe(std::function<void(uint64_t)> on_change) {
  std::lock_guard lock(subs_mu_);
  subscribers_.push_back(std::move(on_change));
}

void MemoryRegistry::expire(int64_t now_ms, int64_t unhealthy_after_ms, int64_t remove_after_ms) {
  std::vector<uint64_t> revs;
  {
    std::lock_guard lock(mu_);
    for (auto it = instances_.begin(); it != instances_.end();) {
      auto& r = it->second;
      int64_t age = now_ms - r.last_heartbeat_ms;
      if (heartbeat_exempt(r)) {
        ++it;
      } else if (age > remove_after_ms) {
        revs.push_back(record_locked(EventKind::kDelete, r));
        it = instances_.erase(it);
      } else {
        if (age > unhealthy_after_ms && r.healthy) {
          r.healthy = false;
          revs.push_back(record_locked(EventKind::kPut, r));
        }
        ++it;
      }
    }
  }
  for (uint64_t rev : revs) changed(rev);
}

// ---- snapshot -------------------------------------------------------------------------------

void MemoryRegistry::load_snapshot() {
  const auto& path = opts_.snapshot_file;
  std::error_code fec;
  if (!std::filesystem::exists(path, fec)) return;
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) {
    spdlog::warn("registry snapshot {}: cannot read it; starting empty", path);
    return;
  }
  boost::system::error_code ec;
  json::value doc = json::parse(ss.str(), ec);
  auto fail = [&](std::string_view why) {
    spdlog::warn("registry snapshot {}: {}; starting empty", path, why);
  };
  if (ec) return fail(fmt::format("invalid JSON ({})", ec.message()));
  auto* o = doc.if_object();
  if (!o) return fail("not a JSON object");
  auto* rev = o->if_contains("revision");
  auto* list = o->if_contains("instances");
  if (!rev || !rev->is_number() || !list || !list->is_array())
    return fail("missing revision or instances");
  uint64_t revision = rev->to_number<uint64_t>(ec);
  if (ec) return fail("revision is not a non-negative integer");
  std::map<std::string, InstanceRecord> loaded;
  int64_t t = now();
  for (size_t i = 0; i < list->get_array().size(); ++i) {
    auto r = instance_from_json(list->get_array()[i]);
    if (!r) return fail(fmt::format("instances[{}]: {}", i, r.error().message));
    r->last_heartbeat_ms = t;
    loaded[r->id] = std::move(*r);
  }
  std::lock_guard lock(mu_);
  instances_ = std::move(loaded);
  revision_ = history_start_ = revision;
  spdlog::info("registry snapshot {}: restored {} instance(s) at revision {}", path,
               instances_.size(), revision_);
}

Status MemoryRegistry::save_snapshot() {
  std::lock_guard write_lock(write_mu_);
  json::object doc;
  json::array list;
  {
    std::lock_guard lock(mu_);
    doc["version"] = kSnapshotVersion;
    doc["revision"] = revision_;
    list.reserve(instances_.size());
    for (const auto& [id, r] : instances_) list.push_back(to_json(r));
  }
  doc["instances"] = std::move(list);
  std::string text = json::serialize(doc);
  const std::string& path = opts_.snapshot_file;
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text << '\n';
    out.flush();
    if (!out) return Error::internal(fmt::format("registry snapshot: cannot write {}", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return Error::internal(
        fmt::format("registry snapshot: cannot rename {} to {}: {}", tmp, path, ec.message()));
  return {};
}

Status MemoryRegistry::flush() {
  if (opts_.snapshot_file.empty()) return {};
  {
    std::lock_guard lock(save_mu_);
    if (!dirty_) return {};
    dirty_ = false;
  }
  return save_snapshot();
}

void MemoryRegistry::saver_loop() {
  std::unique_lock lock(save_mu_);
  while (true) {
    save_cv_.wait(lock, [&] { return dirty_ || stop_; });
    if (!dirty_) return;  // stopping with nothing pending
    // Coalesce: changes in the next interval go into the same write.
    if (!stop_) save_cv_.wait_for(lock, opts_.save_interval, [&] { return stop_; });
    if (!dirty_) continue;  // flush() took it
    dirty_ = false;
    lock.unlock();
    if (auto st = save_snapshot(); !st) spdlog::warn("{}", st.error().message);
    lock.lock();
  }
}

}  // namespace smmf::registry
