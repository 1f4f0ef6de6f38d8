#pragma once
/// `smmf keys hash`: makes the stored form of an API key for a [[keys]] entry. Reads the key
/// from stdin (first line, surrounding whitespace dropped), or with --generate makes a random
/// one; prints `key = ...` (generated keys only: shown once, store it now) and
/// `hash = "sha256:..."`. Exit codes: 0 done, 2 no key given or a key too short.
#include <CLI/CLI.hpp>

#include <iosfwd>

namespace smmf::cli {

struct KeysOptions {
  bool generate = false;
  bool allow_short = false;
};

void add_keys_command(CLI::App& app, KeysOptions& opts);
int run_keys_hash(const KeysOptions& opts, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace smmf::cli
