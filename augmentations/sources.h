// SampleSource adapters over dataset splits and in-memory images (torch-free).
#pragma once

#include <memory>
#include <vector>

#include "datasets/dataset.h"
#include "framework/train/sample_source.h"

namespace frerec::augmentations {

// Reads images from an ImageSet (HDF5 cache) on demand; thread-safe.
class ImageSetSource : public train::SampleSource {
 public:
  explicit ImageSetSource(datasets::ImageSet set) : set_(std::move(set)) {}
  std::size_t size() const override { return set_.size(); }
  train::Sample get(std::size_t index) const override;
  const datasets::ImageSet& set() const { return set_; }

 private:
  datasets::ImageSet set_;
};

// A subset (by indices) of another source.
class SubsetSource : public train::SampleSource {
 public:
  SubsetSource(std::shared_ptr<const train::SampleSource> base, std::vector<std::size_t> indices)
      : base_(std::move(base)), indices_(std::move(indices)) {}
  std::size_t size() const override { return indices_.size(); }
  train::Sample get(std::size_t index) const override { return base_->get(indices_.at(index)); }

 private:
  std::shared_ptr<const train::SampleSource> base_;
  std::vector<std::size_t> indices_;
};

// Several sources one after the other.
class ConcatSource : public train::SampleSource {
 public:
  explicit ConcatSource(std::vector<std::shared_ptr<const train::SampleSource>> parts);
  std::size_t size() const override { return total_; }
  train::Sample get(std::size_t index) const override;

 private:
  std::vector<std::shared_ptr<const train::SampleSource>> parts_;
  std::vector<std::size_t> offsets_;
  std::size_t total_ = 0;
};

std::shared_ptr<const train::SampleSource> source_of(const datasets::ImageSet& set);

}  // namespace frerec::augmentations
