#include "core/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace iapt {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

struct FileDType {
  DType dtype;
  size_t bytes;
};

FileDType file_dtype(const std::string& name, const std::string& path, const std::string& tensor) {
  if (name == "F32") return {DType::F32, 4};
  if (name == "F64") return {DType::F64, 8};
  if (name == "I64") return {DType::I64, 8};
  if (name == "BF16") return {DType::BF16, 2};
  if (name == "F16") return {DType::F16, 2};
  if (name == "I32") return {DType::I64, 4};
  if (name == "I8" || name == "U8" || name == "BOOL") return {DType::I64, 1};
  throw Error(fmt::format("{}: tensor '{}' has dtype {}, which is not supported (F32, F64, F16, BF16, I64, I32, I8, "
                          "U8, BOOL are)",
                          path, tensor, name));
}

// Stored as a tensor of iapt holds it (same element size: no widening): read in place.
bool is_native(const FileDType& fd) { return fd.bytes == dtype_size(fd.dtype); }

// A native tensor at a misaligned offset is copied; the narrow integers are widened to I64.
Tensor decode(const std::string& dtype_name_in_file, const FileDType& fd, const char* src, const Shape& shape) {
  const int64_t n = shape_numel(shape);
  const std::string& k = dtype_name_in_file;
  if (is_native(fd)) {
    Tensor t = empty(shape, fd.dtype);
    std::memcpy(t.raw_data(), src, static_cast<size_t>(n) * fd.bytes);
    return t;
  }
  Tensor t = empty(shape, DType::I64);
  int64_t* d = t.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    if (k == "I32") {
      int32_t v;
      std::memcpy(&v, src + 4 * i, 4);
      d[i] = v;
    } else if (k == "I8") {
      d[i] = static_cast<int8_t>(src[i]);
    } else {
      d[i] = static_cast<uint8_t>(src[i]);
    }
  }
  return t;
}

const char* file_dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::BF16: return "BF16";
    case DType::F16: return "F16";
  }
  return "?";
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  std::shared_ptr<MappedFile> file = MappedFile::open(path);
  const uint64_t file_size = file->size();
  IAPT_CHECK(file_size >= 8, "{}: truncated: {} bytes, too short for the 8-byte header length", path, file_size);
  uint64_t header_len = 0;
  std::memcpy(&header_len, file->data(), 8);
  IAPT_CHECK(header_len <= file_size - 8, "{}: truncated: header length {} exceeds the {} bytes that follow", path,
             header_len, file_size - 8);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(file->data() + 8, file->data() + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: header is not valid JSON: {}", path, e.what()));
  }
  IAPT_CHECK(j.is_object(), "{}: header is not a JSON object", path);
  const uint64_t data_start = 8 + header_len, data_size = file_size - data_start;
  char* data = file->data() + data_start;

  SafetensorsFile out;
  for (auto& [name, info] : j.items()) {
    if (name == "__metadata__") {
      for (auto& [k, v] : info.items()) out.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
      continue;
    }
    IAPT_CHECK(info.is_object() && info.contains("dtype") && info.contains("shape") && info.contains("data_offsets"),
               "{}: tensor '{}' lacks one of dtype, shape, data_offsets", path, name);
    auto integers = [](const nlohmann::json& v) {
      return v.is_array() && std::all_of(v.begin(), v.end(), [](const nlohmann::json& x) { return x.is_number_integer(); });
    };
    IAPT_CHECK(info["dtype"].is_string() && integers(info["shape"]) && integers(info["data_offsets"]),
               "{}: tensor '{}': expected a dtype string, a shape and data_offsets of integers, got {}", path, name,
               info.dump());
    const std::string dt = info["dtype"].get<std::string>();
    FileDType fd = file_dtype(dt, path, name);
    out.stored_dtypes[name] = dt;
    Shape shape = info["shape"].get<Shape>();
    uint64_t elements = 1;
    for (int64_t d : shape) {
      IAPT_CHECK(d >= 0, "{}: tensor '{}' has a negative size in shape {}", path, name, shape_str(shape));
      IAPT_CHECK(d == 0 || elements <= file_size / static_cast<uint64_t>(d),
                 "{}: tensor '{}' of shape {} is larger than the file", path, name, shape_str(shape));
      elements *= static_cast<uint64_t>(d);
    }
    IAPT_CHECK(info["data_offsets"].size() == 2 && info["data_offsets"][0] >= 0 &&
                   info["data_offsets"][0] <= info["data_offsets"][1],
               "{}: tensor '{}' has bad data_offsets {}", path, name, info["data_offsets"].dump());
    auto offsets = info["data_offsets"].get<std::vector<uint64_t>>();
    const uint64_t expected = elements * fd.bytes;
    IAPT_CHECK(offsets[1] - offsets[0] == expected,
               "{}: tensor '{}' of shape {} and dtype {} needs {} bytes, its offsets span {}", path, name,
               shape_str(shape), dt, expected, offsets[1] - offsets[0]);
    IAPT_CHECK(offsets[1] <= data_size, "{}: truncated: tensor '{}' ends at byte {} of a {}-byte data section", path,
               name, offsets[1], data_size);
    char* src = data + offsets[0];
    if (is_native(fd) && reinterpret_cast<uintptr_t>(src) % fd.bytes == 0) {
      // Aliases the mapped pages: nothing is read until used, nothing is copied.
      auto storage = std::make_shared<Storage>(src, expected, Device::CPU, file);
      out.tensors[name] = Tensor(storage, shape, contiguous_strides(shape), 0, fd.dtype);
    } else {
      out.tensors[name] = decode(dt, fd, src, shape);
    }
  }
  return out;
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> dense;
  uint64_t at = 0;
  for (const auto& [name, t] : tensors) {
    IAPT_CHECK(t.defined(), "save_safetensors {}: tensor '{}' is undefined", path, name);
    Tensor c = t.to(Device::CPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(c.numel()) * dtype_size(c.dtype());
    header[name] = {{"dtype", file_dtype_name(c.dtype())}, {"shape", c.shape()}, {"data_offsets", {at, at + bytes}}};
    at += bytes;
    dense.push_back(c);
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');

  write_file_atomically(path, [&](std::ostream& out) {
    const uint64_t len = text.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const Tensor& c : dense)
      out.write(static_cast<const char*>(c.raw_data()),
                static_cast<std::streamsize>(static_cast<size_t>(c.numel()) * dtype_size(c.dtype())));
  });
}

}  // namespace iapt
