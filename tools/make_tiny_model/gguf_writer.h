#pragma once
/// A thin owner of ggml's gguf API for writing one model file: metadata keys, tensors with their
/// data, then one write. Single-threaded. Failures (unreadable input, unwritable output) throw
/// std::runtime_error; the tool's main() reports them.
#include <ggml.h>
#include <gguf.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace smmf::tools {

struct GgufDeleter {
  void operator()(gguf_context* ctx) const { gguf_free(ctx); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;

/// Reads the metadata (keys and tensor infos, no tensor data) of a GGUF file.
GgufPtr read_gguf_metadata(const std::string& path);

/// A scalar metadata value; the alternative chosen is the GGUF type written.
using KvValue = std::variant<uint32_t, int32_t, float, bool, std::string>;

class GgufWriter {
 public:
  /// `max_tensors` bounds add_tensor() calls (tensor headers live in a fixed ggml context).
  explicit GgufWriter(size_t max_tensors);
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  /// Sets (or replaces) one key.
  void set(const std::string& key, const KvValue& value);

  /// Copies every key of `src` whose name starts with `prefix`, arrays included, in file order.
  /// Returns how many keys were copied.
  size_t copy_keys(const gguf_context& src, std::string_view prefix);

  /// Adds a tensor. `ne` is in ggml order (ne[0] is the innermost, contiguous dimension);
  /// `data` must hold exactly the bytes of that shape and type and is kept until write().
  void add_tensor(const std::string& name, std::span<const int64_t> ne, ggml_type type,
                  std::vector<uint8_t> data);

  /// Writes the whole file to `path` (through a temporary file renamed into place).
  void write(const std::string& path) const;

 private:
  GgufPtr gguf_;
  ggml_context* tensors_ = nullptr;        ///< headers only (no_alloc); data lives in data_
  std::deque<std::vector<uint8_t>> data_;  ///< deque: pointers stay valid as it grows
};

}  // namespace smmf::tools
