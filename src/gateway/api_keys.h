#pragma once
/// API key material: the stored form of a key is "sha256:" + the lower-case hex SHA-256 of the
/// key's bytes (OpenSSL). Keys made by `generate_api_key` carry 256 random bits, so a fast
/// unsalted hash is enough: nobody can search that space, and a fast hash lets every request be
/// checked without a cache (docs/security.md). Pure functions; thread-safe.
#include <string>
#include <string_view>

#include "common/error.h"

namespace smmf::gateway {

/// "sha256:<64 hex digits>" of `key`.
std::string hash_api_key(std::string_view key);
/// A new key: "smmf-" + 43 base64url characters of 32 bytes from OpenSSL's RAND_bytes.
Result<std::string> generate_api_key();
/// Equality of two strings in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace smmf::gateway
