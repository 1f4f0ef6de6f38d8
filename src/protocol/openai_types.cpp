#include "protocol/openai_types.h"

namespace smmf::protocol {

std::string_view to_string(ModelType t) {
  switch (t) {
    case ModelType::kLlm:
      return "llm";
    case ModelType::kEmbedding:
      return "embedding";
    case ModelType::kReranker:
      return "reranker";
  }
  return "llm";
}

std::optional<ModelType> model_type_from_string(std::string_view s) {
  if (s == "llm") return ModelType::kLlm;
  if (s == "embedding") return ModelType::kEmbedding;
  if (s == "reranker") return ModelType::kReranker;
  return std::nullopt;
}

std::string_view to_string(FinishReason r) {
  return r == FinishReason::kLength ? "length" : "stop";
}

}  // namespace smmf::protocol
