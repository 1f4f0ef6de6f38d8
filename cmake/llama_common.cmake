# llama.cpp's `common` library, for json_schema_to_grammar (JSON Schema -> GBNF). The pinned
# llama.cpp build (scripts/build_llama.sh) installs libllama-common but not its headers, so this
# imported target points at the headers in the source tree kept beside the install prefix
# (<prefix>/../src/common). Only json-schema-to-grammar.h and json.h are used; json.h wraps its
# JSON library behind a pimpl, so no other include directory is needed.
# Defines: llama::common (IMPORTED). Include after find_package(llama).
find_library(SMMF_LLAMA_COMMON_LIBRARY llama-common
  HINTS ${LLAMA_LIB_DIR} NO_DEFAULT_PATH REQUIRED)
cmake_path(SET _smmf_llama_src NORMALIZE "${LLAMA_LIB_DIR}/../../src/common")
find_path(SMMF_LLAMA_COMMON_INCLUDE_DIR json-schema-to-grammar.h
  HINTS ${_smmf_llama_src} NO_DEFAULT_PATH REQUIRED)
add_library(llama::common SHARED IMPORTED)
set_target_properties(llama::common PROPERTIES
  IMPORTED_LOCATION "${SMMF_LLAMA_COMMON_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${SMMF_LLAMA_COMMON_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES llama)
message(STATUS "llama.cpp common: ${SMMF_LLAMA_COMMON_LIBRARY} (headers ${SMMF_LLAMA_COMMON_INCLUDE_DIR})")
