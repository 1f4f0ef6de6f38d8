#pragma once
/// `smmf trace ...`: reads the JSONL span files of a trace folder (--dir, default
/// [observability] trace_dir of --config):
///   list     recent traces, newest first, with filters
///   show ID  one trace (trace id or response id) as a tree, with its feedback
///   stats    per model: count, error rate, latency / TTFT percentiles, tokens/s
/// Exit codes: 0 done, 1 nothing found or unreadable, 2 bad arguments.
#include <CLI/CLI.hpp>

#include <string>

namespace smmf::cli {

struct TraceOptions {
  std::string command;  ///< list | show | stats
  std::string config_file;
  std::string dir;
  std::string feedback_db;
  std::string id;
  std::string since, until;
  std::string model, instance, status, search;
  double min_latency_ms = 0;
  size_t limit = 50;
  bool json = false;
};

void add_trace_command(CLI::App& app, TraceOptions& opts);
int run_trace(const TraceOptions& opts);

}  // namespace smmf::cli
