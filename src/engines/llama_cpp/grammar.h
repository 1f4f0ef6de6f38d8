#pragma once
/// Output constraints of a generation as a GBNF grammar for llama.cpp's grammar sampler:
/// response_format json_object (any JSON object), json_schema (llama.cpp's
/// json_schema_to_grammar, the converter llama-server uses) or a raw `grammar` string.
/// Threading: pure functions, callable from any thread (used on I/O threads: a schema compiles in
/// well under a millisecond for the shapes clients send).
#include <llama.h>

#include <string>

#include "common/error.h"
#include "protocol/openai_types.h"

namespace smmf::engines::llama_cpp {

/// The GBNF grammar (root rule "root") that constrains `gen`'s output; "" when unconstrained.
/// Errors: kInvalidArgument with param "response_format" (a schema the converter rejects) or
/// "grammar" (GBNF that llama.cpp cannot parse).
Result<std::string> grammar_for(const protocol::GenerationParams& gen, const llama_vocab* vocab);

}  // namespace smmf::engines::llama_cpp
