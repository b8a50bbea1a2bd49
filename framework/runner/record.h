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
// Writes json_text(value, 2) atomically.
void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& value);

// JSON holds UTF-8 text only, but file names need not be UTF-8 (Latin-1 names from an old
// scanner's export, say). Such names are stored escaped: each byte that is not part of a
// valid UTF-8 sequence becomes the four characters \xNN. Valid text is
// unchanged.
std::string escape_invalid_utf8(const std::string& text);
// `value` with every string and key passed through escape_invalid_utf8.
nlohmann::json utf8_safe(const nlohmann::json& value);
// utf8_safe(value).dump(indent): what every JSON file and --json output goes through.
std::string json_text(const nlohmann::json& value, int indent = -1);

// Every finished record (status "ok") below results/<experiment>/, sorted by cell index.
// record.json files that do not parse (cut short, edited by hand) are listed in
// *unreadable when given, never silently dropped by a caller that reports.
std::vector<nlohmann::json> collect_records(const std::filesystem::path& experiment_dir,
                                            std::vector<std::filesystem::path>* unreadable = nullptr);

// The config hash the current plan gives each cell id, from the plan*.json listings that
// `run` writes into results/<experiment>/ (one per part of a suite; where two listings name
// the same cell, the more recently written one wins). Empty when there are no listings.
std::map<std::string, std::string> planned_config_hashes(const std::filesystem::path& experiment_dir);
// The plan*.json listings at the top of results/<experiment>/, oldest first.
std::vector<std::filesystem::path> plan_listing_files(const std::filesystem::path& experiment_dir);


}  // namespace frerec
