#include "framework/runner/record.h"

#include <algorithm>

#include "framework/core/atomic_file.h"
#include "framework/core/system_info.h"

namespace frerec {
namespace fs = std::filesystem;

nlohmann::json environment_json(int threads, const std::string& device) {
  nlohmann::json env;
  env["frerec_version"] = frerec_version();
  // The commit of the binary, which is what made the numbers; the checkout's commit beside it
  // when someone ran a binary built from another commit.
  const std::string built = build_commit();
  env["git_commit"] = built == "unknown" ? git_commit() : built;
  env["git_dirty"] = build_dirty();
  if (built != "unknown" && git_commit() != "unknown" && git_commit() != built) env["checkout_commit"] = git_commit();
  env["host"] = host_name();
  env["device"] = device;
  env["threads"] = threads;
  env["libraries"] = library_versions();
  return env;
}

std::optional<nlohmann::json> read_json_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void write_json_atomic(const fs::path& path, const nlohmann::json& value) {
  write_file_atomic(path, json_text(value, 2) + "\n");
}

std::string escape_invalid_utf8(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = bytes[i];
    // Length of a well-formed sequence starting here (RFC 3629: no overlongs, no surrogates,
    // nothing above U+10FFFF), or 0.
    std::size_t length = 0;
    if (c < 0x80) {
      length = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
    }
    bool valid = length > 0 && i + length <= n;
    for (std::size_t k = 1; valid && k < length; ++k) valid = (bytes[i + k] & 0xC0) == 0x80;
    if (valid && length == 3) {
      const unsigned char d = bytes[i + 1];
      valid = !(c == 0xE0 && d < 0xA0) && !(c == 0xED && d >= 0xA0);
    } else if (valid && length == 4) {
      const unsigned char d = bytes[i + 1];
      valid = !(c == 0xF0 && d < 0x90) && !(c == 0xF4 && d >= 0x90);
    }
    if (valid) {
      out.append(text, i, length);
      i += length;
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      ++i;
    }
  }
  return out;
}

nlohmann::json utf8_safe(const nlohmann::json& value) {
  if (value.is_string()) return escape_invalid_utf8(value.get_ref<const std::string&>());
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : value) out.push_back(utf8_safe(item));
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) out[escape_invalid_utf8(it.key())] = utf8_safe(it.value());
    return out;
  }
  return value;
}

std::string json_text(const nlohmann::json& value, int indent) { return utf8_safe(value).dump(indent); }

std::vector<nlohmann::json> collect_records(const fs::path& experiment_dir, std::vector<fs::path>* unreadable) {
  std::vector<nlohmann::json> records;
  std::error_code ec;
  if (!fs::exists(experiment_dir, ec)) return records;
  for (const auto& item : fs::recursive_directory_iterator(experiment_dir, ec)) {
    if (!item.is_regular_file() || item.path().filename() != "record.json") continue;
    auto record = read_json_file(item.path());
    if (!record || !record->is_object()) {
      if (unreadable) unreadable->push_back(item.path());
      continue;
    }
    if (record->value("status", "") == "ok") records.push_back(*record);
  }
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return a.value("cell", "") < b.value("cell", "");
  });
  return records;
}

std::vector<fs::path> plan_listing_files(const fs::path& experiment_dir) {
  std::vector<std::pair<fs::file_time_type, fs::path>> listings;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(experiment_dir, ec)) {
    const std::string name = item.path().filename().string();
    if (item.is_regular_file() && name.rfind("plan", 0) == 0 && item.path().extension() == ".json")
      listings.emplace_back(item.last_write_time(), item.path());
  }
  std::sort(listings.begin(), listings.end());
  std::vector<fs::path> files;
  for (const auto& listing : listings) files.push_back(listing.second);
  return files;
}

std::map<std::string, std::string> planned_config_hashes(const fs::path& experiment_dir) {
  std::map<std::string, std::string> hashes;
  for (const auto& path : plan_listing_files(experiment_dir)) {  // oldest first: newer listings overwrite
    const auto plan = read_json_file(path);
    if (!plan || !plan->is_object() || !plan->contains("cells") || !(*plan)["cells"].is_array()) continue;
    for (const auto& cell : (*plan)["cells"])
      if (cell.is_object() && cell.value("cell", nlohmann::json()).is_string() &&
          cell.value("config_hash", nlohmann::json()).is_string())
        hashes[cell["cell"].get<std::string>()] = cell["config_hash"].get<std::string>();
  }
  return hashes;
}

}  // namespace frerec
