#include "engines/openai_compat/presets.h"

#include <array>
#include <string>

namespace smmf::engines::openai_compat {
namespace {

using D = protocol::UpstreamDialect;

// Fields outside OpenAI's own request schema. OpenAI-style APIs that validate strictly answer
// 400 ("Unrecognized request argument") when they see them.
constexpr uint32_t kNonOpenAi = D::kTopK | D::kMinP | D::kTypicalP | D::kRepetitionPenalty;

constexpr D openai_dialect() {
  D d;
  d.max_tokens_field = "max_completion_tokens";  // o-series and newer models reject max_tokens
  d.omit = kNonOpenAi;
  return d;
}
constexpr D dialect(bool stream_usage, uint32_t omit, std::string_view seed = "seed",
                    float temperature_max = 2.0f) {
  D d;
  d.temperature_max = temperature_max;
  d.stream_usage = stream_usage;
  d.omit = omit;
  d.seed_field = seed;
  return d;
}

// Sources: each provider's OpenAI-compatibility documentation. `stream_usage = false` where the
// provider rejects or ignores stream_options and sends usage in its last chunk unasked.
const std::array kPresets{
    Preset{"openai", "https://api.openai.com/v1", "Authorization", "Bearer ", true,
           openai_dialect(),
           "max_completion_tokens; rejects top_k/min_p/typical_p/repetition_penalty"},
    Preset{"azure", "", "api-key", "", true, openai_dialect(),
           "URL from endpoint + deployment + api_version, or endpoint/openai/v1"},
    Preset{"deepseek", "https://api.deepseek.com/v1", "Authorization", "Bearer ", true,
           dialect(true, kNonOpenAi | D::kLogitBias), ""},
    Preset{"moonshot", "https://api.moonshot.cn/v1", "Authorization", "Bearer ", true,
           dialect(false, kNonOpenAi, "seed", 1.0f),
           "temperature 0..1; usage arrives inside the last chunk's choice"},
    Preset{"tongyi", "https://dashscope.aliyuncs.com/compatible-mode/v1", "Authorization",
           "Bearer ", true,
           dialect(true, D::kMinP | D::kTypicalP | D::kRepetitionPenalty | D::kLogitBias),
           "DashScope compatible mode; takes top_k"},
    Preset{"zhipu", "https://open.bigmodel.cn/api/paas/v4", "Authorization", "Bearer ", true,
           dialect(false, kNonOpenAi | D::kLogitBias | D::kPenalties | D::kSeed | D::kUser, "seed",
                   1.0f),
           "GLM; temperature 0..1; usage in the last chunk"},
    Preset{"baichuan", "https://api.baichuan-ai.com/v1", "Authorization", "Bearer ", true,
           dialect(false,
                   D::kMinP | D::kTypicalP | D::kRepetitionPenalty | D::kLogitBias | D::kSeed |
                       D::kUser,
                   "seed", 1.0f),
           "takes top_k; temperature 0..1; usage in the last chunk"},
    Preset{"spark", "https://spark-api-open.xf-yun.com/v1", "Authorization", "Bearer ", true,
           dialect(false,
                   D::kMinP | D::kTypicalP | D::kRepetitionPenalty | D::kLogitBias | D::kSeed |
                       D::kUser,
                   "seed", 1.0f),
           "iFlytek; api_key is the APIPassword; takes top_k; temperature up to 1; usage in the "
           "last chunk"},
    Preset{"wenxin", "https://qianfan.baidubce.com/v2", "Authorization", "Bearer ", true,
           dialect(true, kNonOpenAi | D::kLogitBias), "Baidu Qianfan v2"},
    Preset{"yi", "https://api.lingyiwanwu.com/v1", "Authorization", "Bearer ", true,
           dialect(false, kNonOpenAi | D::kLogitBias), "01.AI"},
    Preset{"siliconflow", "https://api.siliconflow.cn/v1", "Authorization", "Bearer ", true,
           dialect(false, D::kTypicalP | D::kRepetitionPenalty | D::kLogitBias),
           "takes top_k and min_p; usage in the last chunk"},
    Preset{"mistral", "https://api.mistral.ai/v1", "Authorization", "Bearer ", true,
           dialect(false, kNonOpenAi | D::kLogitBias | D::kUser, "random_seed"),
           "rejects unknown fields (422); seed is random_seed; usage in the last chunk"},
    Preset{"groq", "https://api.groq.com/openai/v1", "Authorization", "Bearer ", true,
           dialect(true, kNonOpenAi | D::kLogitBias), "usage also in x_groq.usage"},
    Preset{"together", "https://api.together.xyz/v1", "Authorization", "Bearer ", true,
           dialect(true, D::kTypicalP), "takes top_k, min_p, repetition_penalty"},
    Preset{"openrouter", "https://openrouter.ai/api/v1", "Authorization", "Bearer ", true,
           dialect(true, D::kTypicalP), "takes top_k, min_p, repetition_penalty"},
    Preset{"ollama", "http://localhost:11434/v1", "Authorization", "Bearer ", false,
           dialect(true, kNonOpenAi | D::kLogitBias), "no key needed"},
    Preset{"vllm", "http://localhost:8000/v1", "Authorization", "Bearer ", false, dialect(true, 0),
           "every sampling field"},
    Preset{"sglang", "http://localhost:30000/v1", "Authorization", "Bearer ", false,
           dialect(true, 0), "every sampling field"},
    Preset{"llama-server", "http://localhost:8080/v1", "Authorization", "Bearer ", false,
           dialect(true, 0), "every sampling field"},
    Preset{"lmstudio", "http://localhost:1234/v1", "Authorization", "Bearer ", false,
           dialect(true, D::kMinP | D::kTypicalP | D::kRepetitionPenalty | D::kLogitBias), ""},
};

}  // namespace

std::span<const Preset> presets() {
  return kPresets;
}

const Preset* find_preset(std::string_view name) {
  for (const auto& p : kPresets)
    if (p.name == name) return &p;
  return nullptr;
}

std::string preset_names() {
  std::string out;
  for (const auto& p : kPresets) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

}  // namespace smmf::engines::openai_compat
