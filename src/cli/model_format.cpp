#include "cli/model_format.h"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <tuple>

#include "protocol/openai_client_json.h"

namespace smmf::cli {
namespace json = boost::json;

namespace {

constexpr size_t kMaxReason = 40;

// Display width in code points: names may be non-ASCII, and bytes would misalign the columns.
size_t display_width(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void append_row(std::string& out, const TableRow& row, const std::vector<size_t>& widths) {
  std::string line;
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string cell = i < row.size() ? row[i] : std::string();
    line += cell;
    if (i + 1 < widths.size()) line.append(widths[i] - display_width(cell) + 2, ' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out += line;
  out += '\n';
}

std::string string_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t int_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v ? protocol::clamped_int64(*v) : 0;  // a double beyond int64_t must not be cast
}

std::string health_of(const json::object& o) {
  const json::value* v = o.if_contains("healthy");
  if (!v || !v->is_bool()) return "unknown";
  return v->get_bool() ? "healthy" : "unhealthy";
}

/// At most `max` code points, the last one "…" when cut.
std::string truncated(const std::string& s, size_t max) {
  if (display_width(s) <= max) return s;
  size_t points = 0;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (++points == max) break;  // i starts the code point that "…" takes the place of
  }
  return s.substr(0, i) + "\u2026";
}

std::string state_of(const json::object& o) {
  std::string state = string_field(o, "state");
  std::string failure = string_field(o, "failure");
  // The reason in full is in --json; a long one would push the other columns off the screen.
  if (state == "failed" && !failure.empty()) state += ": " + truncated(failure, kMaxReason);
  return state;
}

TableRow instance_row(const json::object& o, int64_t now_ms) {
  return {string_field(o, "model"),
          string_field(o, "type"),
          string_field(o, "id"),
          string_field(o, "address"),
          state_of(o),
          health_of(o),
          std::to_string(int_field(o, "in_flight")),
          format_age(int_field(o, "last_heartbeat_ms"), now_ms)};
}

void pretty(std::string& out, const json::value& v, int depth) {
  const std::string pad(static_cast<size_t>(depth + 1) * 2, ' ');
  const std::string close_pad(static_cast<size_t>(depth) * 2, ' ');
  if (const auto* o = v.if_object(); o && !o->empty()) {
    out += "{\n";
    size_t i = 0;
    for (const auto& kv : *o) {
      out += pad;
      out += json::serialize(json::string(kv.key()));
      out += ": ";
      pretty(out, kv.value(), depth + 1);
      out += ++i < o->size() ? ",\n" : "\n";
    }
    out += close_pad + "}";
  } else if (const auto* a = v.if_array(); a && !a->empty()) {
    out += "[\n";
    for (size_t j = 0; j < a->size(); ++j) {
      out += pad;
      pretty(out, (*a)[j], depth + 1);
      out += j + 1 < a->size() ? ",\n" : "\n";
    }
    out += close_pad + "]";
  } else {
    out += json::serialize(v);  // scalars, {} and []
  }
}

}  // namespace

std::string format_table(const TableRow& header, const std::vector<TableRow>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) widths[i] = display_width(header[i]);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));
  std::string out;
  append_row(out, header, widths);
  for (const auto& row : rows) append_row(out, row, widths);
  return out;
}

std::string format_age(int64_t then_ms, int64_t now_ms) {
  if (then_ms <= 0) return "never";
  const int64_t ms = std::max<int64_t>(0, now_ms - then_ms);
  if (ms < 60'000) return fmt::format("{:.1f}s ago", static_cast<double>(ms) / 1000.0);
  const int64_t s = ms / 1000;
  if (s < 3600) return fmt::format("{}m {:02}s ago", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {:02}m ago", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d {}h ago", s / 86400, (s % 86400) / 3600);
}

std::string instances_table(const json::array& instances, int64_t now_ms) {
  std::vector<const json::object*> sorted;
  for (const auto& v : instances)
    if (const auto* o = v.if_object()) sorted.push_back(o);
  std::stable_sort(sorted.begin(), sorted.end(), [](const json::object* a, const json::object* b) {
    return std::make_tuple(string_field(*a, "model"), string_field(*a, "id")) <
           std::make_tuple(string_field(*b, "model"), string_field(*b, "id"));
  });
  std::vector<TableRow> rows;
  rows.reserve(sorted.size());
  for (const auto* o : sorted) rows.push_back(instance_row(*o, now_ms));
  return format_table(
      {"MODEL", "TYPE", "INSTANCE", "ADDRESS", "STATE", "HEALTH", "IN-FLIGHT", "LAST HEARTBEAT"},
      rows);
}

std::string pretty_json(const json::value& v) {
  std::string out;
  pretty(out, v, 0);
  out += '\n';
  return out;
}

}  // namespace smmf::cli
