#include "framework/io/image_io.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"

namespace frerec::io {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& reason) {
  throw RunError("image: cannot read '" + name + "': " + reason);
}

int cv_interpolation(Interpolation interpolation, bool shrinking) {
  switch (interpolation) {
    case Interpolation::kArea: return cv::INTER_AREA;
    case Interpolation::kLinear: return cv::INTER_LINEAR;
    case Interpolation::kCubic: return cv::INTER_CUBIC;
    case Interpolation::kNearest: return cv::INTER_NEAREST;
    case Interpolation::kAuto: return shrinking ? cv::INTER_AREA : cv::INTER_LINEAR;
  }
  return cv::INTER_LINEAR;
}

// Interleaved HWC float Mat (RGB order) → planar Image.
Image from_mat(const cv::Mat& mat) {
  FREREC_ASSERT(mat.depth() == CV_32F, "from_mat expects float");
  const int c = mat.channels();
  Image image(c, mat.rows, mat.cols);
  for (int y = 0; y < mat.rows; ++y) {
    const float* row = mat.ptr<float>(y);
    for (int x = 0; x < mat.cols; ++x)
      for (int k = 0; k < c; ++k) image.at(k, y, x) = row[x * c + k];
  }
  return image;
}

cv::Mat to_mat(const Image& image) {
  cv::Mat mat(image.height, image.width, CV_32FC(image.channels));
  for (int y = 0; y < image.height; ++y) {
    float* row = mat.ptr<float>(y);
    for (int x = 0; x < image.width; ++x)
      for (int k = 0; k < image.channels; ++k) row[x * image.channels + k] = image.at(k, y, x);
  }
  return mat;
}

void check_options(const ReadOptions& options, const std::string& name) {
  if (options.channels != 0 && options.channels != 1 && options.channels != 3)
    throw ConfigError("image: channels=" + std::to_string(options.channels) + " for '" + name +
                      "' must be 1 (gray) or 3 (RGB)");
  if ((options.height == 0) != (options.width == 0) || options.height < 0 || options.width < 0)
    throw ConfigError("image: resize target " + std::to_string(options.height) + "x" +
                      std::to_string(options.width) + " for '" + name +
                      "' must have both sides positive (or both 0 to keep the size)");
}

std::uint32_t big_endian(const std::vector<std::uint8_t>& b, std::size_t at, int bytes) {
  std::uint32_t value = 0;
  for (int k = 0; k < bytes; ++k) value = (value << 8) | b[at + static_cast<std::size_t>(k)];
  return value;
}

std::uint32_t little_endian(const std::vector<std::uint8_t>& b, std::size_t at, int bytes) {
  std::uint32_t value = 0;
  for (int k = bytes - 1; k >= 0; --k) value = (value << 8) | b[at + static_cast<std::size_t>(k)];
  return value;
}

bool is_jpeg(const std::vector<std::uint8_t>& b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8; }

// One walk over a JPEG's marker segments, as libjpeg reads them: bytes where a marker must
// be are skipped up to the next 0xFF ("extraneous bytes before marker"; 8 such bytes once
// hid a 14895 x 12042 frame from the size check, found by fuzz_image_cache). Each SOS is
// followed by entropy-coded data in which 0xFF is always stuffed (FF 00) or a restart marker
// (FF D0..D7), so the next other FF xx is a real marker. `frame`: the first frame header
// (SOF0..SOF15 except DHT C4, JPG C8, DAC CC) before any scan; `complete`: the stream reaches
// its end-of-image marker (FF D9). A download cut short is not complete, and libjpeg would
// decode it with a warning only ("Premature end of JPEG file"), filling the missing rows
// with grey, which OpenCV passes on as a valid image.
struct JpegScan {
  std::optional<ImageHeader> frame;
  bool complete = false;
};

JpegScan scan_jpeg(const std::vector<std::uint8_t>& b) {
  JpegScan scan;
  const std::size_t n = b.size();
  bool scanned = false;  // an SOS was passed: a later frame header is not the image's
  std::size_t i = 2;
  while (i < n) {
    while (i < n && b[i] != 0xFF) ++i;
    while (i < n && b[i] == 0xFF) ++i;  // fill bytes
    if (i >= n) return scan;
    const std::uint8_t marker = b[i++];
    if (marker == 0xD9) {
      scan.complete = true;
      return scan;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length field
    if (i + 2 > n) return scan;
    const std::size_t length = big_endian(b, i, 2);
    if (!scan.frame && !scanned && marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
        marker != 0xCC) {
      if (i + 8 > n) return scan;
      ImageHeader h;
      h.height = big_endian(b, i + 3, 2);
      h.width = big_endian(b, i + 5, 2);
      h.components = b[i + 7];
      h.format = "jpeg";
      scan.frame = h;
    }
    if (length < 2 || i + length > n) return scan;
    i += length;
    if (marker != 0xDA) continue;
    scanned = true;
    for (;;) {  // entropy-coded data up to the next marker
      if (i + 1 >= n) return scan;
      if (b[i] == 0xFF && b[i + 1] != 0x00 && !(b[i + 1] >= 0xD0 && b[i + 1] <= 0xD7)) break;
      ++i;
    }
  }
  return scan;
}

std::optional<ImageHeader> tiff_header(const std::vector<std::uint8_t>& b) {
  const bool little = b[0] == 'I';
  auto read = [&](std::size_t at, int bytes) { return little ? little_endian(b, at, bytes) : big_endian(b, at, bytes); };
  const std::size_t ifd = read(4, 4);
  if (ifd + 2 > b.size()) return std::nullopt;
  const std::size_t entries = read(ifd, 2);
  ImageHeader h;
  h.format = "tiff";
  for (std::size_t e = 0; e < entries; ++e) {
    const std::size_t at = ifd + 2 + e * 12;
    if (at + 12 > b.size()) break;
    const std::uint32_t tag = read(at, 2), type = read(at + 2, 2);
    const std::uint32_t value = type == 3 ? read(at + 8, 2) : read(at + 8, 4);  // SHORT or LONG
    if (tag == 256) h.width = value;
    if (tag == 257) h.height = value;
  }
  if (h.width == 0 || h.height == 0) return std::nullopt;
  return h;
}

}  // namespace

std::optional<ImageHeader> peek_header(const std::vector<std::uint8_t>& b) {
  static const std::uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (b.size() >= 24 && std::equal(png, png + 8, b.begin()) && std::string(b.begin() + 12, b.begin() + 16) == "IHDR") {
    ImageHeader h;
    h.width = big_endian(b, 16, 4);
    h.height = big_endian(b, 20, 4);
    h.format = "png";
    return h;
  }
  if (is_jpeg(b)) return scan_jpeg(b).frame;
  if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M') {
    ImageHeader h;
    h.width = static_cast<std::int32_t>(little_endian(b, 18, 4));
    h.height = std::llabs(static_cast<std::int32_t>(little_endian(b, 22, 4)));  // negative: top-down rows
    h.format = "bmp";
    return h;
  }
  if (b.size() >= 8 && ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0) ||
                        (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42)))
    return tiff_header(b);
  return std::nullopt;
}

Interpolation parse_interpolation(const std::string& name, const std::string& key) {
  if (name == "auto") return Interpolation::kAuto;
  if (name == "area") return Interpolation::kArea;
  if (name == "linear") return Interpolation::kLinear;
  if (name == "cubic") return Interpolation::kCubic;
  if (name == "nearest") return Interpolation::kNearest;
  throw ConfigError("image: " + key + "='" + name + "' is not an interpolation; use auto, area, linear, cubic or nearest");
}

const char* interpolation_name(Interpolation interpolation) {
  switch (interpolation) {
    case Interpolation::kAuto: return "auto";
    case Interpolation::kArea: return "area";
    case Interpolation::kLinear: return "linear";
    case Interpolation::kCubic: return "cubic";
    case Interpolation::kNearest: return "nearest";
  }
  return "auto";
}

std::vector<std::string> interpolation_names() { return {"auto", "area", "linear", "cubic", "nearest"}; }

std::uint8_t to_u8(float value) {
  const float v = std::isnan(value) ? 0.0f : std::min(1.0f, std::max(0.0f, value));
  return static_cast<std::uint8_t>(std::lround(v * 255.0f));
}

std::uint16_t to_u16(float value) {
  const float v = std::isnan(value) ? 0.0f : std::min(1.0f, std::max(0.0f, value));
  return static_cast<std::uint16_t>(std::lround(v * 65535.0f));
}

Image convert_channels(const Image& image, int channels) {
  if (channels != 1 && channels != 3)
    throw ConfigError("image: target channels=" + std::to_string(channels) + " must be 1 or 3");
  if (image.channels != 1 && image.channels != 3)
    throw RunError("image: cannot convert an image with " + std::to_string(image.channels) + " channels");
  if (image.channels == channels) return image;
  Image out(channels, image.height, image.width);
  const std::size_t n = image.plane_size();
  if (channels == 3) {
    for (int c = 0; c < 3; ++c) std::copy(image.plane(0), image.plane(0) + n, out.plane(c));
  } else {
    const float* r = image.plane(0);
    const float* g = image.plane(1);
    const float* b = image.plane(2);
    float* o = out.plane(0);
    for (std::size_t i = 0; i < n; ++i) o[i] = 0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i];
  }
  return out;
}

Image resize(const Image& image, int height, int width, Interpolation interpolation) {
  if (height <= 0 || width <= 0)
    throw ConfigError("image: resize target " + std::to_string(height) + "x" + std::to_string(width) +
                      " must be positive");
  if (image.height == height && image.width == width) return image;
  const bool shrinking = height <= image.height && width <= image.width;
  cv::Mat out;
  cv::resize(to_mat(image), out, cv::Size(width, height), 0, 0, cv_interpolation(interpolation, shrinking));
  return from_mat(out);
}

DecodedImage decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name,
                          const ReadOptions& options) {
  check_options(options, name);
  if (bytes.empty()) fail(name, "the file is empty");
  // A JPEG is walked once: for its end (truncation) and for its frame size.
  const bool jpeg = is_jpeg(bytes);
  const JpegScan scan = jpeg ? scan_jpeg(bytes) : JpegScan{};
  if (jpeg && !scan.complete)
    fail(name, "truncated JPEG (the data stops before its end-of-image marker; libjpeg would fill the rest with grey)");
  DecodedImage decoded;
  int flags = cv::IMREAD_UNCHANGED;
  if (options.max_pixels > 0) {
    // In double: header sizes up to 2^32 on each side (TIFF) overflow a 64-bit product's sign
    // (found by fuzz_image_cache).
    const auto header = jpeg ? scan.frame : peek_header(bytes);
    const double pixels = header ? static_cast<double>(header->width) * static_cast<double>(header->height) : 0.0;
    if (pixels > static_cast<double>(options.max_pixels)) {
      for (const int factor : {2, 4, 8}) {
        const double reduced = static_cast<double>((header->width + factor - 1) / factor) *
                               static_cast<double>((header->height + factor - 1) / factor);
        if (header->format != "jpeg" || reduced > options.max_pixels) continue;
        decoded.reduced_by = factor;
        const bool grey = header->components == 1;
        flags = factor == 2 ? (grey ? cv::IMREAD_REDUCED_GRAYSCALE_2 : cv::IMREAD_REDUCED_COLOR_2)
                : factor == 4 ? (grey ? cv::IMREAD_REDUCED_GRAYSCALE_4 : cv::IMREAD_REDUCED_COLOR_4)
                              : (grey ? cv::IMREAD_REDUCED_GRAYSCALE_8 : cv::IMREAD_REDUCED_COLOR_8);
        break;
      }
      if (decoded.reduced_by == 1)
        fail(name, fmt::format("{}x{} pixels ({:.1f} MP) is above the limit of {:.1f} MP (data.max_image_pixels; {}); "
                               "shrink the file or raise the limit",
                               header->width, header->height, pixels / 1e6, options.max_pixels / 1e6,
                               header->format == "jpeg" ? "even 1/8 scale is above it"
                                                        : "only a JPEG can be decoded at reduced scale"));
    }
  }
  cv::Mat raw;
  try {
    raw = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<std::uint8_t*>(bytes.data())),
                       flags);
  } catch (const cv::Exception& e) {
    fail(name, std::string("OpenCV could not decode it (") + e.what() + ")");
  }
  if (raw.empty()) fail(name, "not a decodable image (corrupt, truncated or unsupported format)");

  decoded.file_channels = raw.channels();
  double scale = 0;
  if (raw.depth() == CV_8U) {
    decoded.bit_depth = 8;
    scale = 1.0 / 255.0;
  } else if (raw.depth() == CV_16U) {
    decoded.bit_depth = 16;
    scale = 1.0 / 65535.0;
  } else {
    fail(name, "unsupported sample type (only 8- and 16-bit unsigned images are read)");
  }
  cv::Mat rgb;
  switch (raw.channels()) {
    case 1: rgb = raw; break;
    case 3: cv::cvtColor(raw, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(raw, rgb, cv::COLOR_BGRA2RGB); break;
    default: fail(name, "unsupported channel count " + std::to_string(raw.channels()));
  }
  cv::Mat as_float;
  rgb.convertTo(as_float, CV_32F, scale);
  Image image = from_mat(as_float);
  if (options.channels != 0) image = convert_channels(image, options.channels);
  if (options.height != 0) image = resize(image, options.height, options.width, options.interpolation);
  decoded.image = std::move(image);
  return decoded;
}

DecodedImage read_image(const fs::path& path, const ReadOptions& options) {
  check_options(options, path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(path.string(), "no such file");
    fail(path.string(), std::strerror(errno));
  }
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path.string(), "read error");
  return decode_image(bytes, path.string(), options);
}

std::vector<std::uint8_t> encode_png(const Image& image, int bit_depth) {
  if (bit_depth != 8 && bit_depth != 16)
    throw ConfigError("image: PNG bit depth " + std::to_string(bit_depth) + " must be 8 or 16");
  if (image.channels != 1 && image.channels != 3)
    throw RunError("image: cannot write a PNG with " + std::to_string(image.channels) + " channels");
  cv::Mat mat(image.height, image.width, CV_MAKETYPE(bit_depth == 8 ? CV_8U : CV_16U, image.channels));
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      for (int k = 0; k < image.channels; ++k) {
        // OpenCV stores colour as BGR.
        const int dst = image.channels == 3 ? 2 - k : k;
        const float v = image.at(k, y, x);
        if (bit_depth == 8)
          mat.ptr<std::uint8_t>(y)[x * image.channels + dst] = to_u8(v);
        else
          mat.ptr<std::uint16_t>(y)[x * image.channels + dst] = to_u16(v);
      }
    }
  }
  std::vector<std::uint8_t> bytes;
  if (!cv::imencode(".png", mat, bytes)) throw RunError("image: PNG encoding failed");
  return bytes;
}

void write_png(const fs::path& path, const Image& image, int bit_depth) {
  const std::vector<std::uint8_t> bytes = encode_png(image, bit_depth);
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tif" || ext == ".tiff";
}

std::vector<fs::path> list_images(const fs::path& folder, bool recursive) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    throw RunError("image: folder '" + folder.string() + "' does not exist or is not a directory");
  std::vector<fs::path> files;
  auto consider = [&](const fs::directory_entry& entry) {
    if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path());
  };
  if (recursive) {
    for (const auto& entry : fs::recursive_directory_iterator(folder)) consider(entry);
  } else {
    for (const auto& entry : fs::directory_iterator(folder)) consider(entry);
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace frerec::io
