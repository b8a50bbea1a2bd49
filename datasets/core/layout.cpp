#include "datasets/core/layout.h"

#include <algorithm>

#include "framework/core/error.h"

namespace frerec::datasets {
namespace fs = std::filesystem;

namespace {
constexpr std::size_t kShownProblems = 5;
}

LayoutProblems::LayoutProblems(std::string component, fs::path root)
    : component_(std::move(component)), root_(std::move(root)) {}

void LayoutProblems::add(const std::string& problem) {
  ++count_;
  if (first_.size() < kShownProblems) first_.push_back(problem);
}

void LayoutProblems::throw_if_any() const {
  if (count_ == 0) return;
  std::string message = component_ + ": " + std::to_string(count_) + " layout problem" + (count_ == 1 ? "" : "s") +
                        " under '" + root_.string() + "': ";
  for (std::size_t i = 0; i < first_.size(); ++i) message += (i ? "; " : "") + first_[i];
  if (count_ > first_.size()) message += " (and " + std::to_string(count_ - first_.size()) + " more)";
  throw RunError(message);
}

fs::path require_root(const std::string& component, const fs::path& root, const std::string& key) {
  if (root.empty())
    throw ConfigError(component + ": " + key + " is empty; set it to the folder that holds the " +
                      (key == "data.root" ? "dataset" : "images"));
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw RunError(component + ": " + key + "='" + root.string() + "' is not a directory; " +
                   (key == "data.root" ? "download the dataset there or fix the path" : "fix the path"));
  return fs::absolute(root).lexically_normal();
}

std::optional<fs::path> resolve_inside(const fs::path& root, const std::string& relative) {
  if (relative.empty()) return std::nullopt;
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(fs::absolute(root), ec);
  if (ec) return std::nullopt;
  const fs::path given(relative);
  const fs::path candidate = fs::weakly_canonical(given.is_absolute() ? given : base / given, ec);
  if (ec) return std::nullopt;
  // candidate must have base as a prefix, component by component.
  auto b = base.begin();
  auto c = candidate.begin();
  for (; b != base.end(); ++b, ++c) {
    if (b->empty() && std::next(b) == base.end()) break;  // trailing separator
    if (c == candidate.end() || *b != *c) return std::nullopt;
  }
  return candidate;
}

void finalize_records(const std::string& component, std::vector<Record>& records) {
  std::sort(records.begin(), records.end(), [](const Record& a, const Record& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < records.size(); ++i)
    if (records[i].id == records[i - 1].id)
      throw RunError(component + ": image id '" + records[i].id + "' appears twice; ids must be unique");
}

Record file_record(const fs::path& root, const fs::path& file, int label, Split split, const std::string& group) {
  Record record;
  record.id = file.lexically_relative(root).generic_string();
  record.path = file;
  record.label = label;
  record.split = split;
  record.group = group;
  return record;
}

std::optional<Split> parse_split(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (t.empty()) return Split::kUnassigned;
  if (t == "train" || t == "training") return Split::kTrain;
  if (t == "test" || t == "testing") return Split::kTest;
  if (t == "val" || t == "valid" || t == "validate" || t == "validation") return Split::kVal;
  return std::nullopt;
}

}  // namespace frerec::datasets
