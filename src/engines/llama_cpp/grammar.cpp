#include "engines/llama_cpp/grammar.h"

#include <fmt/format.h>
#include <json-schema-to-grammar.h>

#include <exception>

#include "engines/llama_cpp/llama_handles.h"

namespace smmf::engines::llama_cpp {
namespace {

// OpenAI's json_object means "a JSON object", not any JSON value.
constexpr const char* kAnyObjectSchema = R"({"type":"object"})";

Result<std::string> schema_grammar(const std::string& schema_text) {
  try {
    return json_schema_to_grammar(common_json::parse(schema_text), /*force_gbnf=*/true);
  } catch (const std::exception& e) {
    // The converter lists every problem it found, one per line.
    return Error::invalid(
        fmt::format("response_format: the JSON schema cannot be used to constrain output: {}",
                    e.what()),
        "response_format");
  }
}

}  // namespace

Result<std::string> grammar_for(const protocol::GenerationParams& gen, const llama_vocab* vocab) {
  using Type = protocol::ResponseFormat::Type;
  std::string gbnf;
  std::string param = "response_format";
  switch (gen.response_format.type) {
    case Type::kText:
      gbnf = gen.grammar;
      param = "grammar";
      break;
    case Type::kJsonObject: {
      auto g = schema_grammar(kAnyObjectSchema);
      if (!g) return g.error();
      gbnf = std::move(*g);
      break;
    }
    case Type::kJsonSchema: {
      auto g = schema_grammar(gen.response_format.schema);
      if (!g) return g.error();
      gbnf = std::move(*g);
      break;
    }
  }
  if (gbnf.empty()) return gbnf;
  // Parse it once here, so that a bad grammar is the caller's 400 and not a failed job.
  SamplerPtr probe(llama_sampler_init_grammar(vocab, gbnf.c_str(), "root"));
  if (!probe) {
    return Error::invalid(fmt::format("{}: llama.cpp cannot parse the grammar (rule 'root' must "
                                      "exist; see the server log for where parsing failed)",
                                      param),
                          param);
  }
  return gbnf;
}

}  // namespace smmf::engines::llama_cpp
