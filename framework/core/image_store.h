// Random access to a set of same-shape images without holding them all in memory (issue 18:
// DR scale is 27,000 real images of 224² RGB, 16 GB as float32). Code that may meet a
// paper-scale set takes an ImageStore and reads it in chunks; small sets wrap a vector.
//
//   VectorImageStore   a view of (or an owned) std::vector<Image>, for tests and demo sets
//   cache/image_store_h5.h   float32 [N,C,H,W] in an HDF5 file, read by hyperslab
//
// Every image of a store has the store's shape (implementations check it when they are
// built). read_* return copies; implementations must be safe to read from several threads.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "framework/core/image.h"

namespace frerec {

class ImageStore {
 public:
  virtual ~ImageStore() = default;
  virtual std::size_t size() const = 0;
  virtual int channels() const = 0;
  virtual int height() const = 0;
  virtual int width() const = 0;
  // Images [begin, end), end ≤ size().
  virtual std::vector<Image> read_range(std::size_t begin, std::size_t end) const = 0;
  // Images at `rows` (any order, repeats allowed).
  virtual std::vector<Image> read_rows(const std::vector<std::size_t>& rows) const {
    std::vector<Image> out;
    out.reserve(rows.size());
    for (std::size_t r : rows) out.push_back(std::move(read_range(r, r + 1).front()));
    return out;
  }
  Image read(std::size_t index) const { return std::move(read_range(index, index + 1).front()); }
  bool empty() const { return size() == 0; }

 protected:
  // A digest known without reading the pixels (a file that stores it); empty when not.
  virtual std::string precomputed_digest() const { return {}; }

 private:
  mutable std::mutex digest_mutex_;
  mutable std::string digest_;

 public:
  std::size_t image_floats() const { return static_cast<std::size_t>(channels()) * height() * width(); }
  // SHA-256 (hex) of the images' shapes and pixel bytes in order: hash(image 0..N-1), then
  // the count (so it can be computed while a set is written). Computed once per store object
  // (or read from the file, see precomputed_digest) and memoised: at DR scale one pass over
  // the pixels takes minutes. Cache keys of every set-level artifact use it.
  std::string content_digest() const;
  // Images per chunk so that a chunk of float32 images takes about `budget_bytes` (virtual:
  // tests force small chunks to cover chunk boundaries).
  virtual std::size_t chunk_images(std::size_t budget_bytes = std::size_t(128) << 20) const {
    return std::max<std::size_t>(1, budget_bytes / std::max<std::size_t>(1, image_floats() * sizeof(float)));
  }
};

// content_digest() computed incrementally: add images in order, then digest().
class ImageDigest {
 public:
  ImageDigest();
  ~ImageDigest();
  void add(const Image& image);
  std::string digest() const;  // of the images added so far

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::size_t count_ = 0;
};

// Calls fn(first_index, images) for consecutive chunks of `chunk` images of `store`.
template <typename Fn>
void for_each_chunk(const ImageStore& store, std::size_t chunk, Fn&& fn) {
  for (std::size_t b = 0; b < store.size(); b += chunk) fn(b, store.read_range(b, std::min(store.size(), b + chunk)));
}

// A store over a vector: a non-owning view (the vector must outlive the store) or, built
// from an rvalue, an owned copy. The shape is the first image's; callers validate sets.
class VectorImageStore final : public ImageStore {
 public:
  explicit VectorImageStore(const std::vector<Image>& images) : images_(&images) {}
  explicit VectorImageStore(std::vector<Image>&& images)
      : owned_(std::make_shared<std::vector<Image>>(std::move(images))), images_(owned_.get()) {}
  std::size_t size() const override { return images_->size(); }
  int channels() const override { return images_->empty() ? 0 : images_->front().channels; }
  int height() const override { return images_->empty() ? 0 : images_->front().height; }
  int width() const override { return images_->empty() ? 0 : images_->front().width; }
  std::vector<Image> read_range(std::size_t begin, std::size_t end) const override {
    return std::vector<Image>(images_->begin() + static_cast<long>(begin), images_->begin() + static_cast<long>(end));
  }
  std::vector<Image> read_rows(const std::vector<std::size_t>& rows) const override {
    std::vector<Image> out;
    out.reserve(rows.size());
    for (std::size_t r : rows) out.push_back((*images_)[r]);
    return out;
  }
  const std::vector<Image>& images() const { return *images_; }

 private:
  std::shared_ptr<std::vector<Image>> owned_;
  const std::vector<Image>* images_;
};

}  // namespace frerec
