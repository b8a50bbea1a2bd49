// Table 1 sampling: per split and class counts, seeded by data_seed (datasets/dataset.h
// lists the rules).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace frerec::datasets {

struct ClassCounts {
  long negative = -1;  // -1 = all available
  long positive = -1;
  long of(int label) const { return label == 1 ? positive : negative; }
};

struct SamplingPlan {
  ClassCounts train, test, synthetic;
  double test_fraction = 0.2;
  double val_fraction = 0.0;
  bool use_official_split = true;
  std::uint64_t seed = 0;
};

struct SampledSplits {
  std::vector<Record> train, val, test;
};

// Real splits. ConfigError when a class has fewer records than asked (naming how many exist).
SampledSplits sample_real(const std::string& dataset, const std::vector<Record>& records, const SamplingPlan& plan);
// The synthetic pool (every record regardless of split), counts.synthetic per class.
std::vector<Record> sample_synthetic(const std::string& dataset, const std::vector<Record>& records,
                                     const SamplingPlan& plan);

// Seeded permutation of [0, n) (Fisher–Yates with the datasets Rng).
std::vector<std::size_t> seeded_permutation(std::size_t n, std::uint64_t seed);

}  // namespace frerec::datasets
