// record.json of a cell: metrics, timings and the environment that produced them.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <optional>
#include <vector>

#include "framework/core/system_info.h"  // iso_time_utc

namespace frerec {

nlohmann::json environment_json(int threads, const std::string& device);
std::optional<nlohmann::json> read_json_file(const std::filesystem::path& path);  // nullopt if missing/corrupt
void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& value);

// Every finished record (status "ok") below results/<experiment>/, sorted by cell index.
std::vector<nlohmann::json> collect_records(const std::filesystem::path& experiment_dir);

// The config hash the current plan gives each cell id, from the plan*.json listings that
// `run` writes into results/<experiment>/ (one per part of a suite; where two listings name
// the same cell, the more recently written one wins). Empty when there are no listings.
std::map<std::string, std::string> planned_config_hashes(const std::filesystem::path& experiment_dir);


}  // namespace frerec
