#include "framework/io/safetensors.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"

namespace frerec::io {

namespace {

// The safetensors reference implementation refuses headers above 100 MB (its
// MAX_HEADER_SIZE); a larger length means the file is something else.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeInfo {
  at::ScalarType type;
  size_t bytes;
};

bool dtype_from_name(const std::string& name, DtypeInfo& info) {
  static const std::map<std::string, DtypeInfo> table = {
      {"F32", {at::kFloat, 4}}, {"F64", {at::kDouble, 8}},  {"F16", {at::kHalf, 2}},
      {"BF16", {at::kBFloat16, 2}}, {"I64", {at::kLong, 8}}, {"I32", {at::kInt, 4}}};
  auto it = table.find(name);
  if (it == table.end()) return false;
  info = it->second;
  return true;
}

std::string shape_string(const std::vector<int64_t>& sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? "," : "") + std::to_string(sizes[i]);
  return s + "]";
}

// An open safetensors file with its parsed header.
struct OpenFile {
  std::ifstream in;
  nlohmann::ordered_json header;
  std::uint64_t data_start = 0;
  std::uint64_t data_size = 0;
  std::string what;  // "weight file '<path>' ", the start of every error
};

OpenFile open_safetensors(const std::filesystem::path& path) {
  OpenFile file;
  file.what = "weight file '" + path.string() + "' ";
  file.in.open(path, std::ios::binary);
  if (!file.in) throw RunError("cannot open the " + file.what + "(missing or unreadable)");
  file.in.seekg(0, std::ios::end);
  const auto file_size = static_cast<uint64_t>(file.in.tellg());
  file.in.seekg(0);
  if (file_size < 8) throw RunError(file.what + "is too short to be a safetensors file");
  unsigned char len_bytes[8];
  file.in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > file_size - 8 || header_len > kMaxHeaderBytes) {
    throw RunError(file.what + "is not a safetensors file (header length " + std::to_string(header_len) +
                   " exceeds the file size); write it with tools/export_torchvision_weights.py or "
                   "tools/export_restormer_weights.py");
  }
  std::string header(header_len, '\0');
  file.in.read(header.data(), static_cast<std::streamsize>(header_len));
  try {
    file.header = nlohmann::ordered_json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    throw RunError(file.what + "has an unreadable header (" + e.what() + "); write it with tools/export_torchvision_weights.py");
  }
  if (!file.header.is_object()) throw RunError(file.what + "has a header that is not a JSON object");
  file.data_start = 8 + header_len;
  file.data_size = file_size - file.data_start;
  return file;
}

}  // namespace

StateDict read_safetensors(const std::filesystem::path& path) {
  OpenFile file = open_safetensors(path);
  const std::string& what = file.what;
  StateDict out;
  for (auto it = file.header.begin(); it != file.header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const auto& entry = it.value();
    DtypeInfo info{};
    try {
      const std::string dtype = entry.at("dtype").get<std::string>();
      if (!dtype_from_name(dtype, info)) {
        throw RunError(what + "tensor '" + it.key() + "' has unsupported dtype " + dtype +
                       " (supported: F32, F64, F16, BF16, I64, I32)");
      }
      std::vector<int64_t> shape = entry.at("shape").get<std::vector<int64_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > file.data_size) {
        throw RunError(what + "tensor '" + it.key() + "' has data_offsets outside the file");
      }
      uint64_t numel = 1;
      for (int64_t d : shape) {
        if (d < 0) throw RunError(what + "tensor '" + it.key() + "' has a negative dimension");
        numel *= static_cast<uint64_t>(d);
      }
      if (numel * info.bytes != offsets[1] - offsets[0]) {
        throw RunError(what + "tensor '" + it.key() + "' has " + std::to_string(offsets[1] - offsets[0]) +
                       " bytes but shape " + shape_string(shape) + " needs " + std::to_string(numel * info.bytes));
      }
      at::Tensor t = at::empty(shape, at::TensorOptions().dtype(info.type));
      file.in.seekg(static_cast<std::streamoff>(file.data_start + offsets[0]));
      file.in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(numel * info.bytes));
      if (!file.in) throw RunError(what + "is truncated while reading tensor '" + it.key() + "'");
      const bool integral = info.type == at::kLong || info.type == at::kInt;
      out.emplace_back(it.key(), t.to(integral ? at::kLong : at::kFloat));
    } catch (const nlohmann::json::exception& e) {
      throw RunError(what + "has a malformed entry for '" + it.key() + "' (" + e.what() + ")");
    }
  }
  return out;
}

std::map<std::string, std::string> read_safetensors_metadata(const std::filesystem::path& path) {
  const OpenFile file = open_safetensors(path);
  std::map<std::string, std::string> metadata;
  try {
    if (file.header.contains("__metadata__"))
      for (const auto& [key, value] : file.header.at("__metadata__").items()) metadata[key] = value.get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw RunError(file.what + "has an unreadable __metadata__ block (" + std::string(e.what()) + ")");
  }
  return metadata;
}

void write_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [key, tensor] : tensors) {
    at::Tensor t = tensor.detach().to(at::kCPU);
    const bool integral = at::isIntegralType(t.scalar_type(), /*includeBool=*/true);
    t = t.to(integral ? at::kLong : at::kFloat).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[key] = {{"dtype", integral ? "I64" : "F32"}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(t);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // align the data to 8 bytes
  std::string content(8, '\0');
  const uint64_t len = json.size();
  for (int i = 0; i < 8; ++i) content[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  content += json;
  content.reserve(content.size() + offset);
  for (const auto& t : contiguous) content.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomic(path, content);
}

}  // namespace frerec::io
