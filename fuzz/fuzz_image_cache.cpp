// Image decoding into a cached set: the bytes of one file (any format OpenCV reads, as a
// user's folder may hold) are decoded as a loader would (grey and RGB, resized to 16²) and
// written into an image-cache HDF5 file, which is then checksum-verified and read back.
// The first byte picks channels (bit 0) and whether the name ends in .jpg or .png (bit 1;
// decoding goes by content). Run it with OPENCV_IO_MAX_IMAGE_PIXELS=4000000 in the
// environment (scripts/fuzz.sh does): OpenCV reads that limit when it loads. Seeds: fuzz/corpus/image (small PNG, JPEG, BMP, TIFF files,
// 8- and 16-bit, grey, RGB and RGBA).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "datasets/dataset.h"
#include "datasets/image_cache.h"
#include "framework/cache/hdf5_io.h"
#include "framework/io/image_io.h"
#include "fuzz/fuzz_util.h"

namespace {

using namespace frerec;

// One file's bytes as a dataset of one record.
class BytesSource : public datasets::DatasetSource {
 public:
  BytesSource(std::vector<std::uint8_t> bytes, std::string id) : bytes_(std::move(bytes)) {
    datasets::Record record;
    record.id = std::move(id);
    record.label = 1;
    record.split = datasets::Split::kTrain;
    records_.push_back(record);
  }
  const std::string& name() const override { return name_; }
  const std::vector<datasets::Record>& records() const override { return records_; }
  int natural_channels() const override { return 0; }
  io::DecodedImage decode(const datasets::Record& record, const datasets::DecodeOptions& options) const override {
    io::ReadOptions read;
    read.channels = options.channels;
    read.height = read.width = options.size;
    read.max_pixels = options.max_pixels;
    return io::decode_image(bytes_, record.id, read);
  }

 private:
  std::string name_ = "fuzz";
  std::vector<std::uint8_t> bytes_;
  std::vector<datasets::Record> records_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  datasets::DecodeOptions options;
  options.channels = (data[0] & 1) ? 3 : 1;
  options.size = 16;
  options.max_pixels = 4'000'000;
  const BytesSource source(std::vector<std::uint8_t>(data + 1, data + size), (data[0] & 2) ? "x.jpg" : "x.png");
  const auto dir = fuzz::fresh("image");
  const auto path = dir / "images.h5";
  fuzz::expect_clean([&] {
    datasets::CacheBuildStats stats;
    datasets::build_image_file(path, source, source.records(), options, /*strict=*/false, /*threads=*/1, stats);
    if (stats.decoded + stats.skipped != 1) std::abort();
    if (!h5::verify_checksums(path).empty()) std::abort();
    const datasets::ImageCacheFile file(path);
    if (file.size() != stats.decoded) std::abort();
    for (const Image& image : file.read_range(0, file.size())) {
      if (image.channels != options.channels || image.height != 16 || image.width != 16) std::abort();
      for (const float v : image.data)
        if (!(v >= 0.0f && v <= 1.0f)) std::abort();
    }
  });
  return 0;
}
