#include "gguf_writer.h"

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <type_traits>

namespace smmf::tools {
namespace {

void copy_scalar(gguf_context* dst, const gguf_context& src, int64_t id, const char* key) {
  switch (gguf_get_kv_type(&src, id)) {
    case GGUF_TYPE_UINT8:
      gguf_set_val_u8(dst, key, gguf_get_val_u8(&src, id));
      break;
    case GGUF_TYPE_INT8:
      gguf_set_val_i8(dst, key, gguf_get_val_i8(&src, id));
      break;
    case GGUF_TYPE_UINT16:
      gguf_set_val_u16(dst, key, gguf_get_val_u16(&src, id));
      break;
    case GGUF_TYPE_INT16:
      gguf_set_val_i16(dst, key, gguf_get_val_i16(&src, id));
      break;
    case GGUF_TYPE_UINT32:
      gguf_set_val_u32(dst, key, gguf_get_val_u32(&src, id));
      break;
    case GGUF_TYPE_INT32:
      gguf_set_val_i32(dst, key, gguf_get_val_i32(&src, id));
      break;
    case GGUF_TYPE_FLOAT32:
      gguf_set_val_f32(dst, key, gguf_get_val_f32(&src, id));
      break;
    case GGUF_TYPE_UINT64:
      gguf_set_val_u64(dst, key, gguf_get_val_u64(&src, id));
      break;
    case GGUF_TYPE_INT64:
      gguf_set_val_i64(dst, key, gguf_get_val_i64(&src, id));
      break;
    case GGUF_TYPE_FLOAT64:
      gguf_set_val_f64(dst, key, gguf_get_val_f64(&src, id));
      break;
    case GGUF_TYPE_BOOL:
      gguf_set_val_bool(dst, key, gguf_get_val_bool(&src, id));
      break;
    case GGUF_TYPE_STRING:
      gguf_set_val_str(dst, key, gguf_get_val_str(&src, id));
      break;
    default:
      throw std::runtime_error(std::string("unsupported GGUF value type for ") + key);
  }
}

void copy_array(gguf_context* dst, const gguf_context& src, int64_t id, const char* key) {
  const gguf_type type = gguf_get_arr_type(&src, id);
  const size_t n = gguf_get_arr_n(&src, id);
  if (type == GGUF_TYPE_STRING) {
    std::vector<const char*> strings(n);
    for (size_t i = 0; i < n; ++i) strings[i] = gguf_get_arr_str(&src, id, i);
    gguf_set_arr_str(dst, key, strings.data(), n);
  } else if (type == GGUF_TYPE_ARRAY) {
    throw std::runtime_error(std::string("nested GGUF arrays are not supported: ") + key);
  } else {
    gguf_set_arr_data(dst, key, type, gguf_get_arr_data(&src, id), n);
  }
}

}  // namespace

GgufPtr read_gguf_metadata(const std::string& path) {
  gguf_init_params params{};
  params.no_alloc = true;
  params.ctx = nullptr;
  GgufPtr ctx(gguf_init_from_file(path.c_str(), params));
  if (!ctx) throw std::runtime_error("cannot read GGUF file " + path);
  return ctx;
}

GgufWriter::GgufWriter(size_t max_tensors) : gguf_(gguf_init_empty()) {
  ggml_init_params params{};
  params.mem_size = ggml_tensor_overhead() * max_tensors;
  params.mem_buffer = nullptr;
  params.no_alloc = true;
  tensors_ = ggml_init(params);
  if (!gguf_ || !tensors_) throw std::runtime_error("cannot allocate GGUF context");
}

GgufWriter::~GgufWriter() {
  ggml_free(tensors_);
}

void GgufWriter::set(const std::string& key, const KvValue& value) {
  gguf_context* ctx = gguf_.get();
  const char* k = key.c_str();
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, uint32_t>) gguf_set_val_u32(ctx, k, v);
        if constexpr (std::is_same_v<T, int32_t>) gguf_set_val_i32(ctx, k, v);
        if constexpr (std::is_same_v<T, float>) gguf_set_val_f32(ctx, k, v);
        if constexpr (std::is_same_v<T, bool>) gguf_set_val_bool(ctx, k, v);
        if constexpr (std::is_same_v<T, std::string>) gguf_set_val_str(ctx, k, v.c_str());
      },
      value);
}

size_t GgufWriter::copy_keys(const gguf_context& src, std::string_view prefix) {
  size_t copied = 0;
  for (int64_t id = 0; id < gguf_get_n_kv(&src); ++id) {
    const char* key = gguf_get_key(&src, id);
    if (!std::string_view(key).starts_with(prefix)) continue;
    if (gguf_get_kv_type(&src, id) == GGUF_TYPE_ARRAY) {
      copy_array(gguf_.get(), src, id, key);
    } else {
      copy_scalar(gguf_.get(), src, id, key);
    }
    ++copied;
  }
  return copied;
}

void GgufWriter::add_tensor(const std::string& name, std::span<const int64_t> ne, ggml_type type,
                            std::vector<uint8_t> data) {
  if (ne.empty() || ne.size() > GGML_MAX_DIMS) throw std::runtime_error("bad rank for " + name);
  ggml_tensor* t = ggml_new_tensor(tensors_, type, static_cast<int>(ne.size()), ne.data());
  if (!t) throw std::runtime_error("too many tensors at " + name);
  if (ggml_nbytes(t) != data.size()) throw std::runtime_error("data size mismatch for " + name);
  ggml_set_name(t, name.c_str());
  t->data = data_.emplace_back(std::move(data)).data();
  gguf_add_tensor(gguf_.get(), t);
}

void GgufWriter::write(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  if (!gguf_write_to_file(gguf_.get(), tmp.c_str(), /*only_meta=*/false)) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + ec.message());
}

}  // namespace smmf::tools
