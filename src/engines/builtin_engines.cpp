// Kept apart from engine_factory.cpp so that engine folders can depend on the factory core.
#include "engines/engine_factory.h"
#include "engines/openai_compat/openai_engine.h"
#include "engines/process/process_engine.h"
#include "engines/tgi/tei_engine.h"
#include "engines/tgi/tgi_engine.h"

#ifdef SMMF_WITH_LLAMACPP
#include "engines/llama_cpp/llama_engine.h"
#endif
#ifdef SMMF_WITH_ANTHROPIC
#include "engines/anthropic/anthropic_engine.h"
#endif
#ifdef SMMF_WITH_GEMINI
#include "engines/gemini/gemini_engine.h"
#endif

namespace smmf::engines {

void register_builtin_engines(EngineRegistry& registry, std::shared_ptr<net::HttpClient> http) {
  process::register_process(registry, http);
  tgi::register_tgi(registry, http);
  tgi::register_tei(registry, http);
  openai_compat::register_openai_compat(registry, http);
#ifdef SMMF_WITH_ANTHROPIC
  anthropic::register_anthropic(registry, http);
#endif
#ifdef SMMF_WITH_GEMINI
  gemini::register_gemini(registry, http);
#endif
#ifdef SMMF_WITH_LLAMACPP
  llama_cpp::register_llama_cpp(registry);
#endif
}

}  // namespace smmf::engines
