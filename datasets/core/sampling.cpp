#include "datasets/core/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "framework/core/error.h"
#include "framework/core/random.h"

namespace frerec::datasets {

std::vector<std::size_t> seeded_permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  random::Xoshiro256 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

namespace {

const char* class_name(int label) { return label == 1 ? "positive" : "negative"; }

bool by_id(const Record& a, const Record& b) { return a.id < b.id; }

// Records of one class in seeded order.
std::vector<Record> permuted_class(const std::vector<Record>& pool, int label, std::uint64_t seed) {
  std::vector<Record> members;
  for (const Record& r : pool)
    if (r.label == label) members.push_back(r);
  std::sort(members.begin(), members.end(), by_id);
  const auto order = seeded_permutation(members.size(), seed);
  std::vector<Record> out;
  out.reserve(members.size());
  for (std::size_t i : order) out.push_back(members[i]);
  return out;
}

std::size_t take_count(const std::string& dataset, const std::string& key, long wanted, std::size_t available,
                       const std::string& what) {
  if (wanted < 0) return available;
  if (static_cast<std::size_t>(wanted) > available)
    throw ConfigError(dataset + ": data.counts." + key + "=" + std::to_string(wanted) + " but " + what + " has only " +
                      std::to_string(available) + " image" + (available == 1 ? "" : "s") +
                      "; lower the count or use -1 for all");
  return static_cast<std::size_t>(wanted);
}

std::uint64_t stream_seed(std::uint64_t seed, const std::string& stage, int label) {
  return random::mix_seed(seed, random::tag_seed(stage), static_cast<std::uint64_t>(label));
}

}  // namespace

SampledSplits sample_real(const std::string& dataset, const std::vector<Record>& records, const SamplingPlan& plan) {
  if (plan.val_fraction < 0 || plan.val_fraction >= 1)
    throw ConfigError(dataset + ": data.val_fraction=" + std::to_string(plan.val_fraction) + " must be in [0,1)");
  std::vector<Record> train_pool, test_pool;
  const bool official = plan.use_official_split &&
                        std::any_of(records.begin(), records.end(), [](const Record& r) { return r.split == Split::kTest; });
  SampledSplits out;
  for (int label = 0; label < 2; ++label) {
    std::vector<Record> train_class, test_class;
    if (official) {
      for (const Record& r : records) {
        if (r.label != label) continue;
        (r.split == Split::kTest ? test_class : train_class).push_back(r);
      }
    } else {
      // Re-split: carve test from everything of this class.
      std::vector<Record> all = permuted_class(records, label, stream_seed(plan.seed, "test-carve", label));
      const long wanted = plan.test.of(label);
      const std::size_t n_test =
          wanted >= 0 ? take_count(dataset, std::string("test.") + class_name(label), wanted, all.size(),
                                   std::string("the ") + class_name(label) + " class")
                      : static_cast<std::size_t>(std::llround(plan.test_fraction * all.size()));
      test_class.assign(all.begin(), all.begin() + static_cast<long>(n_test));
      train_class.assign(all.begin() + static_cast<long>(n_test), all.end());
    }
    // Test sample.
    {
      auto order = permuted_class(test_class, label, stream_seed(plan.seed, "test", label));
      const std::size_t n = take_count(dataset, std::string("test.") + class_name(label), plan.test.of(label), order.size(),
                                       std::string("the test split's ") + class_name(label) + " class");
      out.test.insert(out.test.end(), order.begin(), order.begin() + static_cast<long>(n));
    }
    // Train sample, then validation carved from its front.
    {
      std::string what = std::string("the train split's ") + class_name(label) + " class";
      if (!official) what += " (after carving the test split)";
      auto order = permuted_class(train_class, label, stream_seed(plan.seed, "train", label));
      const std::size_t n = take_count(dataset, std::string("train.") + class_name(label), plan.train.of(label),
                                       order.size(), what);
      const std::size_t n_val = static_cast<std::size_t>(std::llround(plan.val_fraction * n));
      for (std::size_t i = 0; i < n; ++i) {
        Record r = order[i];
        r.split = i < n_val ? Split::kVal : Split::kTrain;
        (i < n_val ? out.val : out.train).push_back(std::move(r));
      }
    }
  }
  for (Record& r : out.test) r.split = Split::kTest;
  std::sort(out.train.begin(), out.train.end(), by_id);
  std::sort(out.val.begin(), out.val.end(), by_id);
  std::sort(out.test.begin(), out.test.end(), by_id);
  return out;
}

std::vector<Record> sample_synthetic(const std::string& dataset, const std::vector<Record>& records,
                                     const SamplingPlan& plan) {
  std::vector<Record> out;
  for (int label = 0; label < 2; ++label) {
    auto order = permuted_class(records, label, stream_seed(plan.seed, "synthetic", label));
    const std::size_t n = take_count(dataset, std::string("synthetic.") + class_name(label), plan.synthetic.of(label),
                                     order.size(), std::string("the synthetic pool's ") + class_name(label) + " class");
    out.insert(out.end(), order.begin(), order.begin() + static_cast<long>(n));
  }
  std::sort(out.begin(), out.end(), by_id);
  return out;
}

}  // namespace frerec::datasets
