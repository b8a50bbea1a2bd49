// The trainer's torch-free data interface (see framework/train/trainer.h for the design).
//
//   * SampleSource: random access to labelled images; get() must be safe to call from
//     several loader threads at once (const, no shared mutable state). The lead adapts
//     dataset splits to it; VectorSampleSource holds samples in memory (tests, small sets).
//   * SampleTransform: a per-sample online transform (flips, AutoAugment, ...). The loader
//     gives every sample its own std::mt19937_64 seeded from (seed, epoch, sample index),
//     so results do not depend on the number of workers or their timing. apply() is const
//     and is called concurrently from loader threads: keep all randomness in `rng`.
//   * random::derive_seed (framework/core/random.h): the one mixing function used for every
//     derived generator, with the stream tags below as its first part.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "framework/core/image.h"

namespace frerec::train {

struct Sample {
  Image image;
  int label = 0;
  std::string id;
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual std::size_t size() const = 0;
  // Thread-safe; throws frerec::RunError for an unreadable sample (the message names it).
  virtual Sample get(std::size_t index) const = 0;
};

class VectorSampleSource : public SampleSource {
 public:
  VectorSampleSource() = default;
  explicit VectorSampleSource(std::vector<Sample> samples) : samples_(std::move(samples)) {}
  void add(Sample sample) { samples_.push_back(std::move(sample)); }
  std::size_t size() const override { return samples_.size(); }
  Sample get(std::size_t index) const override { return samples_.at(index); }

 private:
  std::vector<Sample> samples_;
};

class SampleTransform {
 public:
  virtual ~SampleTransform() = default;
  virtual void apply(Image& image, std::mt19937_64& rng) const = 0;
};

// Stream tags for random::derive_seed (first part), one per use of randomness in the trainer.
enum SeedStream : std::uint64_t {
  kShuffleStream = 1,  // per-epoch permutation of the training set
  kSampleStream = 2,   // per-sample transforms: (epoch, sample index)
  kBatchStream = 3,    // batch transforms: (epoch, batch index)
  kStepStream = 4,     // TrainStepHook generator: (epoch, batch index)
  kTorchStream = 5,    // LibTorch's global generator, reseeded per epoch (dropout etc.)
};

}  // namespace frerec::train
