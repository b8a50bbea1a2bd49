// Report builders by experiment kind (see reports.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "framework/report/table.h"

namespace frerec::experiments {

// Builds the reports of one experiment kind's records; returns the files written, one per line.
using ReportBuilder = std::function<std::string(const std::vector<nlohmann::json>&, const std::filesystem::path&)>;
std::map<std::string, ReportBuilder>& report_builders();

const std::vector<std::string>& table2_method_order();
report::Table make_table2(const std::vector<nlohmann::json>& records, const std::string& reference_method);
std::string write_table2(const std::vector<nlohmann::json>& records, const std::filesystem::path& experiment_dir);

}  // namespace frerec::experiments
