// record.json of a cell: metrics, timings and the environment that produced them.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <vector>

#include "framework/core/system_info.h"  // iso_time_utc

namespace frerec {

nlohmann::json environment_json(int threads, const std::string& device);
std::optional<nlohmann::json> read_json_file(const std::filesystem::path& path);  // nullopt if missing/corrupt
void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& value);

// Every finished record (status "ok") below results/<experiment>/, sorted by cell index.
std::vector<nlohmann::json> collect_records(const std::filesystem::path& experiment_dir);


}  // namespace frerec
