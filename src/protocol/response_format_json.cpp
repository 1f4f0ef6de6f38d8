#include "protocol/response_format_json.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace smmf::protocol {
namespace json = boost::json;

namespace {

Error bad(std::string_view why) {
  return Error::invalid(fmt::format("'response_format' {}", why), "response_format");
}

}  // namespace

Result<ResponseFormat> parse_response_format(const json::value& v) {
  const json::object* o = v.if_object();
  const json::value* type = o ? o->if_contains("type") : nullptr;
  if (type == nullptr || !type->is_string()) return bad("must be an object with a 'type'");
  ResponseFormat f;
  const std::string_view t = type->get_string();
  if (t == "text") return f;
  if (t == "json_object") {
    f.type = ResponseFormat::Type::kJsonObject;
    return f;
  }
  if (t != "json_schema") {
    return bad(fmt::format("type '{}' is not one of text, json_object, json_schema", t));
  }
  f.type = ResponseFormat::Type::kJsonSchema;
  const json::value* js = o->if_contains("json_schema");
  if (js == nullptr || !js->is_object()) {
    return bad("of type 'json_schema' needs a 'json_schema' object");
  }
  const json::object& jo = js->get_object();
  if (const json::value* name = jo.if_contains("name"); name != nullptr && !name->is_null()) {
    if (!name->is_string()) return bad("json_schema.name must be a string");
    f.name = name->get_string();
  }
  if (const json::value* strict = jo.if_contains("strict");
      strict != nullptr && !strict->is_null()) {
    if (!strict->is_bool()) return bad("json_schema.strict must be a boolean");
    f.strict = strict->get_bool();
  }
  const json::value* schema = jo.if_contains("schema");
  if (schema == nullptr || !schema->is_object()) {
    return bad("json_schema.schema must be a JSON Schema object");
  }
  f.schema = json::serialize(*schema);
  return f;
}

json::value response_format_json(const ResponseFormat& f) {
  switch (f.type) {
    case ResponseFormat::Type::kText:
      return nullptr;
    case ResponseFormat::Type::kJsonObject:
      return json::object{{"type", "json_object"}};
    case ResponseFormat::Type::kJsonSchema: {
      json::object js;
      if (!f.name.empty()) js["name"] = f.name;
      js["schema"] = json::parse(f.schema);
      if (f.strict) js["strict"] = true;
      json::object out;
      out["type"] = "json_schema";
      out["json_schema"] = std::move(js);
      return out;
    }
  }
  return nullptr;
}

}  // namespace smmf::protocol
