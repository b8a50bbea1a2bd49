#include "framework/runner/record.h"

#include <algorithm>

#include "framework/core/atomic_file.h"
#include "framework/core/system_info.h"

namespace frerec {
namespace fs = std::filesystem;

nlohmann::json environment_json(int threads, const std::string& device) {
  nlohmann::json env;
  env["frerec_version"] = frerec_version();
  env["git_commit"] = git_commit();
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
  write_file_atomic(path, value.dump(2) + "\n");
}

std::vector<nlohmann::json> collect_records(const fs::path& experiment_dir) {
  std::vector<nlohmann::json> records;
  std::error_code ec;
  if (!fs::exists(experiment_dir, ec)) return records;
  for (const auto& item : fs::recursive_directory_iterator(experiment_dir, ec)) {
    if (!item.is_regular_file() || item.path().filename() != "record.json") continue;
    auto record = read_json_file(item.path());
    if (record && record->value("status", "") == "ok") records.push_back(*record);
  }
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return a.value("cell", "") < b.value("cell", "");
  });
  return records;
}

std::map<std::string, std::string> planned_config_hashes(const fs::path& experiment_dir) {
  std::vector<std::pair<fs::file_time_type, fs::path>> listings;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(experiment_dir, ec)) {
    const std::string name = item.path().filename().string();
    if (item.is_regular_file() && name.rfind("plan", 0) == 0 && item.path().extension() == ".json")
      listings.emplace_back(item.last_write_time(), item.path());
  }
  std::sort(listings.begin(), listings.end());  // oldest first: newer listings overwrite
  std::map<std::string, std::string> hashes;
  for (const auto& [time, path] : listings) {
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
