// Golden fixture access for tests/analysis: tests/golden/analysis/analysis_golden.json (made by
// make_golden.py) stores generator parameters (features.h) and reference results.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "framework/analysis/analysis.h"
#include "tests/analysis/features.h"

namespace frerec::analysis::testing {

inline const nlohmann::json& golden() {
  static const nlohmann::json data = [] {
    const std::filesystem::path path =
        std::filesystem::path(FREREC_SOURCE_DIR) / "tests/golden/analysis/analysis_golden.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("missing golden file " + path.string());
    return nlohmann::json::parse(in);
  }();
  return data;
}

// The matrix a fixture's generator spec describes.
inline Matrix make(const nlohmann::json& spec) {
  const std::string kind = spec.at("kind");
  const auto seed = spec.at("seed").get<std::uint64_t>();
  const auto rows = spec.at("rows").get<std::size_t>();
  const auto cols = spec.at("cols").get<std::size_t>();
  if (kind == "correlated")
    return correlated(seed, rows, cols, spec.value("shift", 0.0), spec.value("scale", 1.0), spec.value("mix", 0.0));
  if (kind == "blobs") {
    const auto center_seed = spec.contains("center_seed") && !spec.at("center_seed").is_null()
                                 ? spec.at("center_seed").get<std::uint64_t>()
                                 : kDefaultCenterSeed;
    return blobs(seed, rows, cols, spec.at("centers").get<std::size_t>(), spec.at("spread").get<double>(), center_seed);
  }
  throw std::runtime_error("unknown generator kind " + kind);
}

// |actual − expected| ≤ rel·|expected| (+ abs).
inline ::testing::AssertionResult near_relative(double actual, double expected, double rel, double abs = 0.0) {
  const double tolerance = rel * std::abs(expected) + abs;
  if (std::abs(actual - expected) <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "actual " << actual << " vs expected " << expected << " (diff "
                                       << std::abs(actual - expected) << " > tolerance " << tolerance << ")";
}

}  // namespace frerec::analysis::testing
