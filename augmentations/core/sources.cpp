#include "augmentations/sources.h"

#include <algorithm>

#include "framework/core/error.h"

namespace frerec::augmentations {

train::Sample ImageSetSource::get(std::size_t index) const {
  train::Sample sample;
  sample.image = set_.read(index);
  sample.label = set_.labels().at(index);
  sample.id = set_.ids().at(index);
  return sample;
}

ConcatSource::ConcatSource(std::vector<std::shared_ptr<const train::SampleSource>> parts) : parts_(std::move(parts)) {
  for (const auto& part : parts_) {
    offsets_.push_back(total_);
    total_ += part->size();
  }
}

train::Sample ConcatSource::get(std::size_t index) const {
  if (index >= total_) throw InternalError("ConcatSource: index out of range");
  const auto it = std::upper_bound(offsets_.begin(), offsets_.end(), index);
  const std::size_t part = static_cast<std::size_t>(it - offsets_.begin()) - 1;
  return parts_[part]->get(index - offsets_[part]);
}

std::shared_ptr<const train::SampleSource> source_of(const datasets::ImageSet& set) {
  return std::make_shared<ImageSetSource>(set);
}

}  // namespace frerec::augmentations
