#include "cli/trace_command.h"

#include <boost/json/serialize.hpp>

#include <iostream>

#include "common/config.h"
#include "observability/observability_routes.h"
#include "observability/trace_format.h"

namespace smmf::cli {
namespace obs = observability;
namespace json = boost::json;

void add_trace_command(CLI::App& app, TraceOptions& o) {
  auto* cmd = app.add_subcommand("trace", "Inspect traced calls (the JSONL span files)");
  cmd->require_subcommand(1);
  auto common = [&](CLI::App* c) {
    c->add_option("--dir", o.dir, "Trace folder (default: [observability] trace_dir of --config)");
    c->add_option("-c,--config", o.config_file, "TOML configuration file")
        ->check(CLI::ExistingFile);
    c->add_flag("--json", o.json, "Print JSON (the shape of the HTTP API)");
  };
  auto filters = [&](CLI::App* c) {
    c->add_option("--since", o.since, "Only calls since: 90s, 15m, 2h, 7d ago, or unix seconds");
    c->add_option("--until", o.until, "Only calls until (same forms as --since)");
    c->add_option("--model", o.model, "Only calls of this model");
  };
  auto* list = cmd->add_subcommand("list", "Recent traces, newest first");
  common(list);
  filters(list);
  list->add_option("--instance", o.instance, "Only calls that ran on this instance");
  list->add_option("--status", o.status, "ok, error, or an HTTP status code");
  list->add_option("--min-latency-ms", o.min_latency_ms, "Only calls at least this slow");
  list->add_option("--search", o.search, "Text in inputs, outputs, errors or attributes");
  list->add_option("--limit", o.limit, "At most this many (default 50)");
  list->callback([&o] { o.command = "list"; });
  auto* show = cmd->add_subcommand("show", "One trace as a tree, with its feedback");
  common(show);
  show->add_option("id", o.id, "Trace id or response id (chatcmpl-...)")->required();
  show->add_option("--feedback-db", o.feedback_db,
                   "Feedback database (default: [observability] feedback_db of --config)");
  show->callback([&o] { o.command = "show"; });
  auto* stats = cmd->add_subcommand("stats", "Per-model statistics");
  common(stats);
  filters(stats);
  stats->callback([&o] { o.command = "stats"; });
}

int run_trace(const TraceOptions& o) {
  TraceOptions opts = o;
  if (!opts.config_file.empty()) {
    auto cfg = load_config_file(opts.config_file);
    if (!cfg) {
      std::cerr << "smmf trace: " << cfg.error().message << "\n";
      return 2;
    }
    if (opts.dir.empty()) opts.dir = cfg->observability.trace_dir;
    if (opts.feedback_db.empty()) opts.feedback_db = cfg->observability.feedback_db;
  }
  if (opts.dir.empty()) {
    std::cerr << "smmf trace: no trace folder: pass --dir or a --config with "
                 "[observability] trace_dir\n";
    return 2;
  }
  obs::TraceFilter f;
  const int64_t now = obs::unix_micros();
  for (auto [arg, out] :
       {std::pair{&opts.since, &f.since_us}, std::pair{&opts.until, &f.until_us}}) {
    if (arg->empty()) continue;
    auto t = obs::parse_time_arg(*arg, now);
    if (!t) {
      std::cerr << "smmf trace: " << t.error().message << "\n";
      return 2;
    }
    *out = *t;
  }
  f.model = opts.model;
  f.instance = opts.instance;
  f.status = opts.status;
  f.text = opts.search;
  f.min_latency_ms = opts.min_latency_ms;
  f.limit = opts.limit;
  obs::TraceQuery query(opts.dir);

  if (opts.command == "list") {
    auto list = query.list(f);
    if (!list) {
      std::cerr << "smmf trace list: " << list.error().message << "\n";
      return 1;
    }
    if (opts.json) {
      json::array a;
      for (const auto& t : *list) a.push_back(obs::summary_json(t));
      std::cout << json::serialize(a) << "\n";
    } else {
      std::cout << obs::format_trace_list(*list);
    }
    return 0;
  }
  if (opts.command == "show") {
    auto spans = query.find(opts.id);
    if (!spans) {
      std::cerr << "smmf trace show: " << spans.error().message << "\n";
      return 1;
    }
    std::vector<obs::Feedback> feedback;
    if (!opts.feedback_db.empty()) {
      auto store = obs::FeedbackStore::open(opts.feedback_db);
      if (!store) {
        std::cerr << "smmf trace show: " << store.error().message << "\n";
        return 1;
      }
      auto s = obs::summarize(*spans);
      auto found = (*store)->find(s.trace_id, s.response_id);
      if (!found) {
        std::cerr << "smmf trace show: " << found.error().message << "\n";
        return 1;
      }
      feedback = std::move(*found);
    }
    if (opts.json)
      std::cout << json::serialize(obs::trace_detail_json(*spans, feedback)) << "\n";
    else
      std::cout << obs::format_trace_tree(*spans, feedback);
    return 0;
  }
  auto stats = query.stats(f);
  if (!stats) {
    std::cerr << "smmf trace stats: " << stats.error().message << "\n";
    return 1;
  }
  if (opts.json) {
    json::array a;
    for (const auto& s : *stats) a.push_back(obs::stats_json(s));
    std::cout << json::serialize(a) << "\n";
  } else {
    std::cout << obs::format_stats(*stats);
  }
  return 0;
}

}  // namespace smmf::cli
