#include "cli/keys_command.h"

#include <iostream>
#include <string>

#include "gateway/api_keys.h"

namespace smmf::cli {
namespace {
// Keys are hashed with a fast unsalted SHA-256 (gateway/api_keys.h): only safe for keys too
// long to guess; 128 bits of base64 is about 22 characters.
constexpr size_t kMinKeyLength = 20;
}  // namespace

void add_keys_command(CLI::App& app, KeysOptions& o) {
  auto* keys = app.add_subcommand("keys", "API key helpers");
  keys->require_subcommand(1);
  auto* hash =
      keys->add_subcommand("hash",
                           "Print the hash of an API key for a [[keys]] entry of the config file.\n"
                           "Reads the key from stdin, or makes a random one with --generate.");
  hash->add_flag("-g,--generate", o.generate,
                 "Make a random key (256 bits) and print it with its hash");
  hash->add_flag("--allow-short", o.allow_short,
                 "Accept a key shorter than 20 characters (guessable keys are unsafe)");
}

int run_keys_hash(const KeysOptions& o, std::istream& in, std::ostream& out, std::ostream& err) {
  std::string key;
  if (o.generate) {
    auto k = gateway::generate_api_key();
    if (!k) {
      err << "smmf keys hash: " << k.error().message << "\n";
      return 1;
    }
    key = std::move(*k);
    out << "key = \"" << key << "\"   # give this to the client; it is not stored anywhere\n";
  } else {
    std::getline(in, key);
    auto first = key.find_first_not_of(" \t\r\n");
    auto last = key.find_last_not_of(" \t\r\n");
    key = first == std::string::npos ? std::string() : key.substr(first, last - first + 1);
    if (key.empty()) {
      err << "smmf keys hash: no key on stdin (pipe one in, or use --generate)\n";
      return 2;
    }
    if (key.size() < kMinKeyLength && !o.allow_short) {
      err << "smmf keys hash: the key has " << key.size() << " characters; use at least "
          << kMinKeyLength << " random ones (or --generate, or --allow-short)\n";
      return 2;
    }
  }
  out << "hash = \"" << gateway::hash_api_key(key) << "\"\n";
  return 0;
}

}  // namespace smmf::cli
