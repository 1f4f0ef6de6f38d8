#pragma once
/// Text output of `smmf model`: aligned tables, ages ("1.2s ago"), the instance table, and
/// indented JSON. Pure functions, no I/O; thread-safe.
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace smmf::cli {

using TableRow = std::vector<std::string>;

/// Left-aligned columns separated by two spaces, one line per row (header first), each line
/// ending in '\n' and without trailing blanks. Widths count UTF-8 code points. Rows shorter
/// than the header are padded with empty cells.
std::string format_table(const TableRow& header, const std::vector<TableRow>& rows);

/// How long ago `then_ms` was at `now_ms` (unix ms): "0.4s ago", "12.3s ago", "5m 03s ago",
/// "2h 10m ago", "3d 4h ago"; "never" when then_ms <= 0. A future time counts as "0.0s ago".
std::string format_age(int64_t then_ms, int64_t now_ms);

/// The table of `smmf model list` for the controller's InstanceRecord JSON objects: MODEL, TYPE,
/// INSTANCE, ADDRESS, STATE, HEALTH, IN-FLIGHT, LAST HEARTBEAT; sorted by model, then instance.
/// A failed instance shows its reason in STATE ("failed: out of memory"), cut to 40 code points.
/// Non-objects are skipped.
std::string instances_table(const boost::json::array& instances, int64_t now_ms);

/// JSON indented by two spaces, keys in stored order, ending with '\n'.
std::string pretty_json(const boost::json::value& v);

}  // namespace smmf::cli
