// Helpers that build small dataset trees in the official layouts inside a temp folder.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "datasets/dataset.h"
#include "datasets/register.h"
#include "framework/core/context.h"
#include "tests/framework/test_util.h"

namespace frerec::datasets::testing {
namespace fs = std::filesystem;

// An empty folder for `name`, the same one at each call (emptied again); the folders are
// TempDirs, removed when the test binary exits.
inline fs::path fresh_dir(const std::string& name) {
  static std::map<std::string, ::frerec::testing::TempDir> made;
  const fs::path dir = made[name].path();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Writes an image file (format from the extension) with a deterministic pattern.
inline void write_image(const fs::path& path, int seed, int channels = 1, int size = 24, int depth = CV_8U) {
  fs::create_directories(path.parent_path());
  cv::Mat mat(size, size, CV_MAKETYPE(depth, channels));
  cv::randu(mat, 0, depth == CV_8U ? 255 : 65535);
  mat.at<uchar>(0, 0) = static_cast<uchar>(seed % 256);
  ASSERT_TRUE(cv::imwrite(path.string(), mat)) << path;
}

inline void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline void write_gz(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(file);
}

// A data section from YAML text (validated like the lead's validator does).
inline config::Params data(const std::string& yaml) {
  register_all();
  return validate_data_section(YAML::Load(yaml), "data");
}

inline RunContext context(const fs::path& cache_dir, int threads = 1) {
  RunContext ctx;
  ctx.threads = threads;
  ctx.cache_dir = cache_dir;
  return ctx;
}

// Runs fn and returns the message of the expected exception type (fails otherwise).
template <typename E, typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

}  // namespace frerec::datasets::testing
