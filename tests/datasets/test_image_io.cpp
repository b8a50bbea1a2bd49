#include <gtest/gtest.h>

#include <zlib.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "framework/core/error.h"
#include "framework/io/image_io.h"
#include "tests/datasets/fixtures.h"

namespace frerec::io {
namespace {
using datasets::testing::error_of;
using datasets::testing::fresh_dir;

TEST(ImageIo, SixteenBitPngRoundTripIsExact) {
  const auto dir = fresh_dir("io16");
  cv::Mat mat(5, 7, CV_16UC1);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x) mat.at<std::uint16_t>(y, x) = static_cast<std::uint16_t>(y * 9001 + x * 377 + 1);
  ASSERT_TRUE(cv::imwrite((dir / "a.png").string(), mat));
  const DecodedImage decoded = read_image(dir / "a.png");
  EXPECT_EQ(decoded.bit_depth, 16);
  EXPECT_EQ(decoded.image.channels, 1);
  EXPECT_FLOAT_EQ(decoded.image.at(0, 2, 3), (2 * 9001 + 3 * 377 + 1) / 65535.0f);
  write_png(dir / "b.png", decoded.image, 16);
  const cv::Mat back = cv::imread((dir / "b.png").string(), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(back.depth(), CV_16U);
  EXPECT_EQ(cv::norm(back, mat, cv::NORM_INF), 0.0);
}

TEST(ImageIo, ChannelConversionUsesBt601AndReplicatesGray) {
  const auto dir = fresh_dir("iochan");
  cv::Mat bgr(2, 2, CV_8UC3, cv::Scalar(30, 100, 200));  // B, G, R
  ASSERT_TRUE(cv::imwrite((dir / "c.png").string(), bgr));
  ReadOptions gray;
  gray.channels = 1;
  const DecodedImage g = read_image(dir / "c.png", gray);
  EXPECT_EQ(g.file_channels, 3);
  EXPECT_NEAR(g.image.at(0, 1, 1), (0.299f * 200 + 0.587f * 100 + 0.114f * 30) / 255.0f, 1e-6);
  const DecodedImage rgb = read_image(dir / "c.png");
  EXPECT_NEAR(rgb.image.at(0, 0, 0), 200 / 255.0f, 1e-7);  // RGB order
  EXPECT_NEAR(rgb.image.at(2, 0, 0), 30 / 255.0f, 1e-7);
  const Image replicated = convert_channels(g.image, 3);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(replicated.at(c, 1, 0), g.image.at(0, 1, 0));
}

TEST(ImageIo, RgbaDropsAlpha) {
  const auto dir = fresh_dir("iorgba");
  cv::Mat bgra(3, 3, CV_8UC4, cv::Scalar(10, 20, 30, 0));
  ASSERT_TRUE(cv::imwrite((dir / "d.png").string(), bgra));
  const DecodedImage decoded = read_image(dir / "d.png");
  EXPECT_EQ(decoded.file_channels, 4);
  ASSERT_EQ(decoded.image.channels, 3);
  EXPECT_NEAR(decoded.image.at(0, 1, 1), 30 / 255.0f, 1e-7);
}

TEST(ImageIo, AreaDownscaleByTwoAveragesBlocks) {
  Image image(1, 4, 4);
  for (int i = 0; i < 16; ++i) image.data[i] = i / 16.0f;
  const Image small = resize(image, 2, 2, Interpolation::kAuto);
  EXPECT_NEAR(small.at(0, 0, 0), (0 + 1 + 4 + 5) / 64.0f, 1e-6);
  EXPECT_NEAR(small.at(0, 1, 1), (10 + 11 + 14 + 15) / 64.0f, 1e-6);
  const Image same = resize(image, 4, 4);
  EXPECT_EQ(same.data, image.data);
}

TEST(ImageIo, ErrorsNamePathAndReason) {
  const auto dir = fresh_dir("ioerr");
  EXPECT_NE(error_of<RunError>([&] { read_image(dir / "missing.png"); }).find("no such file"), std::string::npos);
  datasets::testing::write_text(dir / "bad.jpg", "this is not a jpeg");
  const std::string message = error_of<RunError>([&] { read_image(dir / "bad.jpg"); });
  EXPECT_NE(message.find("bad.jpg"), std::string::npos);
  EXPECT_NE(message.find("not a decodable image"), std::string::npos);
  datasets::testing::write_text(dir / "empty.png", "");
  EXPECT_NE(error_of<RunError>([&] { read_image(dir / "empty.png"); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of<ConfigError>([] { parse_interpolation("bicubicc"); }).find("bicubicc"), std::string::npos);
  ReadOptions bad;
  bad.channels = 2;
  EXPECT_NE(error_of<ConfigError>([&] { read_image(dir / "x.png", bad); }).find("channels=2"), std::string::npos);
  EXPECT_THROW(write_png(dir / "y.png", Image(1, 2, 2), 12), ConfigError);
  EXPECT_THROW(list_images(dir / "nope"), RunError);
}

// A JPEG cut short decodes in libjpeg as grey rows with only a warning;
// we refuse it, naming the file. Baseline and progressive files, whole and cut anywhere
// (mid-scan, just before the end-of-image marker).
TEST(ImageIo, TruncatedJpegIsRefused) {
  const auto dir = fresh_dir("jpegcut");
  cv::Mat mat(64, 48, CV_8UC3);
  cv::randu(mat, 0, 255);
  for (const bool progressive : {false, true}) {
    std::vector<std::uint8_t> bytes;
    ASSERT_TRUE(cv::imencode(".jpg", mat, bytes, {cv::IMWRITE_JPEG_PROGRESSIVE, progressive ? 1 : 0}));
    const auto whole = dir / (progressive ? "p.jpg" : "b.jpg");
    datasets::testing::write_text(whole, std::string(bytes.begin(), bytes.end()));
    EXPECT_EQ(read_image(whole).image.height, 64);
    for (const std::size_t keep : {bytes.size() / 3, bytes.size() * 9 / 10, bytes.size() - 2}) {
      const auto cut = dir / ((progressive ? "p" : "b") + std::to_string(keep) + ".jpg");
      datasets::testing::write_text(cut, std::string(bytes.begin(), bytes.begin() + static_cast<long>(keep)));
      ASSERT_FALSE(cv::imread(cut.string(), cv::IMREAD_UNCHANGED).empty()) << "OpenCV alone accepts the cut file";
      const std::string message = error_of<RunError>([&] { read_image(cut); });
      EXPECT_NE(message.find(cut.filename().string()), std::string::npos) << message;
      EXPECT_NE(message.find("truncated JPEG"), std::string::npos) << message;
    }
    // Bytes after the end-of-image marker (some cameras append data) are fine.
    const auto padded = dir / (progressive ? "p_pad.jpg" : "b_pad.jpg");
    datasets::testing::write_text(padded, std::string(bytes.begin(), bytes.end()) + std::string(100, '\0'));
    EXPECT_EQ(read_image(padded).image.width, 48);
  }
}

// A valid grey 8-bit PNG of width × height black pixels, written row by row through zlib
// (never held in memory whole): 16000² is 256 MB of pixels in a file of about 250 kB.
void write_black_png(const std::filesystem::path& path, std::uint32_t width, std::uint32_t height) {
  std::string file("\x89PNG\r\n\x1a\n", 8);
  auto chunk = [&](const char* type, const std::string& data) {
    const std::uint32_t n = static_cast<std::uint32_t>(data.size());
    for (int k = 3; k >= 0; --k) file += static_cast<char>((n >> (8 * k)) & 0xFF);
    const std::string body = std::string(type, 4) + data;
    file += body;
    const std::uint32_t crc = static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
    for (int k = 3; k >= 0; --k) file += static_cast<char>((crc >> (8 * k)) & 0xFF);
  };
  std::string ihdr;
  for (const std::uint32_t v : {width, height})
    for (int k = 3; k >= 0; --k) ihdr += static_cast<char>((v >> (8 * k)) & 0xFF);
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit, grey, deflate, no filter, no interlace
  chunk("IHDR", ihdr);
  z_stream z{};
  deflateInit(&z, 9);
  const std::string row(width + 1, '\0');  // filter byte 0, then black
  std::string compressed;
  std::vector<char> out(1 << 16);
  for (std::uint32_t y = 0; y <= height; ++y) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(row.data()));
    z.avail_in = y < height ? static_cast<uInt>(row.size()) : 0;
    const int flush = y < height ? Z_NO_FLUSH : Z_FINISH;
    do {
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      deflate(&z, flush);
      compressed.append(out.data(), out.size() - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  chunk("IDAT", compressed);
  chunk("IEND", "");
  datasets::testing::write_text(path, file);
}

// The header says how big a file is before any pixel is decoded. A 16000²
// PNG (7.4 GB on the way to an image before) is refused in milliseconds, naming the file and
// the limit; a JPEG above the limit is decoded at 1/2..1/8 scale instead.
TEST(ImageIo, ImagesAboveThePixelLimitAreReducedOrRefused) {
  const auto dir = fresh_dir("huge");
  write_black_png(dir / "huge.png", 16000, 16000);
  const std::string message = error_of<RunError>([&] { read_image(dir / "huge.png"); });
  EXPECT_NE(message.find("huge.png"), std::string::npos) << message;
  EXPECT_NE(message.find("16000x16000 pixels (256.0 MP) is above the limit of 50.0 MP"), std::string::npos) << message;
  ReadOptions unlimited_small;
  write_black_png(dir / "small.png", 40, 30);  // the writer itself makes decodable files
  EXPECT_EQ(read_image(dir / "small.png", unlimited_small).image.width, 40);

  // Headers of each format, then the limit on small files.
  cv::Mat colour(48, 64, CV_8UC3), grey(48, 64, CV_8UC1);
  cv::randu(colour, 0, 255);
  cv::randu(grey, 0, 255);
  for (const char* ext : {".png", ".jpg", ".bmp", ".tif"}) {
    std::vector<std::uint8_t> bytes;
    ASSERT_TRUE(cv::imencode(ext, colour, bytes));
    const auto header = peek_header(bytes);
    ASSERT_TRUE(header) << ext;
    EXPECT_EQ(header->width, 64) << ext;
    EXPECT_EQ(header->height, 48) << ext;
  }
  ReadOptions limited;
  limited.max_pixels = 1000;  // 64×48 = 3072 > 1000; at 1/2 scale 32×24 = 768 fits
  for (const bool is_grey : {false, true}) {
    std::vector<std::uint8_t> bytes;
    ASSERT_TRUE(cv::imencode(".jpg", is_grey ? grey : colour, bytes));
    EXPECT_EQ(peek_header(bytes)->components, is_grey ? 1 : 3);
    const DecodedImage reduced = decode_image(bytes, "x.jpg", limited);
    EXPECT_EQ(reduced.reduced_by, 2);
    EXPECT_EQ(reduced.image.width, 32);
    EXPECT_EQ(reduced.image.height, 24);
    EXPECT_EQ(reduced.image.channels, is_grey ? 1 : 3);
    limited.max_pixels = 40;  // even 1/8 scale (8×6 = 48) is above it
    EXPECT_NE(error_of<RunError>([&] { decode_image(bytes, "x.jpg", limited); }).find("even 1/8 scale"),
              std::string::npos);
    limited.max_pixels = 1000;
  }
  std::vector<std::uint8_t> png;
  ASSERT_TRUE(cv::imencode(".png", grey, png));
  EXPECT_NE(error_of<RunError>([&] { decode_image(png, "x.png", limited); }).find("only a JPEG"), std::string::npos);
  // Found by fuzz_image_cache: a TIFF header of 3.8e9 x 3.7e9 pixels overflowed the pixel
  // count (undefined behaviour; the check then let the file through).
  std::vector<std::uint8_t> tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0};
  for (const std::uint16_t tag : {256, 257}) {
    const std::uint8_t entry[12] = {static_cast<std::uint8_t>(tag & 0xFF), static_cast<std::uint8_t>(tag >> 8), 4, 0, 1, 0, 0, 0,
                                    0x00, 0x00, 0x64, 0xE3};  // LONG 0xE3640000
    tiff.insert(tiff.end(), entry, entry + 12);
  }
  tiff.insert(tiff.end(), {0, 0, 0, 0});
  EXPECT_NE(error_of<RunError>([&] { decode_image(tiff, "huge.tif", ReadOptions{}); }).find("above the limit"),
            std::string::npos);
  // Found by fuzz_image_cache: 8 stray bytes before the frame header (libjpeg skips them,
  // "extraneous bytes before marker") hid a 14895 x 12042 frame from the header check, and
  // OpenCV then tried to allocate it.
  std::vector<std::uint8_t> stray;
  ASSERT_TRUE(cv::imencode(".jpg", grey, stray));
  for (std::size_t i = 2; i + 9 < stray.size(); ++i)
    if (stray[i] == 0xFF && stray[i + 1] == 0xC0) {
      stray[i + 5] = 14895 >> 8, stray[i + 6] = 14895 & 0xFF, stray[i + 7] = 12042 >> 8, stray[i + 8] = 12042 & 0xFF;
      stray.insert(stray.begin() + static_cast<long>(i), {1, 2, 3, 4, 5, 6, 7, 8});
      break;
    }
  const auto stray_header = peek_header(stray);
  ASSERT_TRUE(stray_header);
  EXPECT_EQ(stray_header->width, 12042);
  EXPECT_EQ(stray_header->height, 14895);
  limited.max_pixels = 1'000'000;  // 1/8 scale is 2.8 MP: refused without decoding
  EXPECT_NE(error_of<RunError>([&] { decode_image(stray, "stray.jpg", limited); }).find("even 1/8 scale"),
            std::string::npos);
  limited.max_pixels = 0;  // no limit
  EXPECT_EQ(decode_image(png, "x.png", limited).image.width, 64);
}

TEST(ImageIo, ListImagesIsSortedAndFiltersExtensions) {
  const auto dir = fresh_dir("iolist");
  datasets::testing::write_text(dir / "b.PNG", "x");
  datasets::testing::write_text(dir / "a.jpeg", "x");
  datasets::testing::write_text(dir / "notes.txt", "x");
  datasets::testing::write_text(dir / "sub" / "c.png", "x");
  const auto flat = list_images(dir);
  ASSERT_EQ(flat.size(), 2u);
  EXPECT_EQ(flat[0].filename(), "a.jpeg");
  EXPECT_EQ(list_images(dir, true).size(), 3u);
}

}  // namespace
}  // namespace frerec::io
