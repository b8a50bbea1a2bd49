#include "framework/core/image_store.h"

#include <cstdint>

#include "framework/core/hash.h"

namespace frerec {

struct ImageDigest::State {
  Hasher hasher;
};

ImageDigest::ImageDigest() : state_(std::make_unique<State>()) {}
ImageDigest::~ImageDigest() = default;

void ImageDigest::add(const Image& image) {
  const std::int32_t shape[3] = {image.channels, image.height, image.width};
  state_->hasher.update(shape, sizeof(shape));
  state_->hasher.update(image.data.data(), image.data.size() * sizeof(float));
  ++count_;
}

std::string ImageDigest::digest() const {
  Hasher copy = state_->hasher;
  return sha256_hex("frerec.images.v2;n=" + std::to_string(count_) + ";" + copy.hex());
}

std::string ImageStore::content_digest() const {
  const std::lock_guard<std::mutex> lock(digest_mutex_);
  if (digest_.empty()) digest_ = precomputed_digest();
  if (digest_.empty()) {
    ImageDigest digest;
    for_each_chunk(*this, chunk_images(), [&](std::size_t, const std::vector<Image>& chunk) {
      for (const Image& image : chunk) digest.add(image);
    });
    digest_ = digest.digest();
  }
  return digest_;
}

}  // namespace frerec
