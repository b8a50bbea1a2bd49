// Helpers shared by the file-based loaders: collecting layout problems into one clear
// error, checking the root, keeping manifest paths inside the root.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace frerec::datasets {

class LayoutProblems {
 public:
  LayoutProblems(std::string component, std::filesystem::path root);
  void add(const std::string& problem);
  std::size_t count() const { return count_; }
  // RunError "<component>: N layout problem(s) under '<root>': p1; p2; ... (and K more)".
  void throw_if_any() const;

 private:
  std::string component_;
  std::filesystem::path root_;
  std::vector<std::string> first_;
  std::size_t count_ = 0;
};

// ConfigError when data.root is empty; RunError when it is not a directory.
// `key` names the config key in messages (data.root, or data.synthetic.root for a synthetic
// folder).
std::filesystem::path require_root(const std::string& component, const std::filesystem::path& root,
                                   const std::string& key = "data.root");

// root/relative (normalised) when it stays inside root; nullopt when it escapes
// (absolute paths outside root, "..", or a symlink leading outside).
std::optional<std::filesystem::path> resolve_inside(const std::filesystem::path& root,
                                                    const std::string& relative);

// Sorts records by id and checks the ids are unique (FREREC_ASSERT-free: RunError naming
// the duplicate).
void finalize_records(const std::string& component, std::vector<Record>& records);

// A record for an image file below root (id = path relative to root, '/' separators).
Record file_record(const std::filesystem::path& root, const std::filesystem::path& file, int label, Split split,
                   const std::string& group);

// Parses "train"/"test"/"val"/"validate"/"" (case-insensitive) → Split; nullopt otherwise.
std::optional<Split> parse_split(const std::string& text);

}  // namespace frerec::datasets
