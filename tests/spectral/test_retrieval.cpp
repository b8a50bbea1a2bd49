#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <limits>

#include "framework/core/error.h"
#include "framework/spectral/retrieval.h"
#include "tests/spectral/test_util.h"

namespace frerec::spectral {
namespace {

std::vector<Image> random_set(int n, int c, int h, int w, std::uint64_t seed) {
  std::vector<Image> out;
  for (int i = 0; i < n; ++i) out.push_back(testing::random_image(c, h, w, seed * 1000 + i));
  return out;
}
std::vector<Image> smooth_set(int n, int c, int h, int w, std::uint64_t seed) {
  std::vector<Image> out;
  for (int i = 0; i < n; ++i) out.push_back(testing::smooth_image(c, h, w, seed * 1000 + i));
  return out;
}

// Fast and brute force must return the same indices; scores agree to 1e-5.
void expect_same(const RetrievalResult& fast, const RetrievalResult& brute) {
  ASSERT_EQ(fast.queries, brute.queries);
  ASSERT_EQ(fast.k, brute.k);
  for (int q = 0; q < fast.queries; ++q)
    for (int j = 0; j < fast.k; ++j) {
      EXPECT_EQ(fast.index(q, j), brute.index(q, j)) << "query " << q << " rank " << j;
      EXPECT_NEAR(fast.score(q, j), brute.score(q, j), 1e-5) << "query " << q << " rank " << j;
    }
}

TEST(Retrieval, EqualsBruteForceOnRandomImages) {
  const auto queries = random_set(5, 1, 29, 34, 1);
  const auto refs = random_set(23, 1, 29, 34, 2);
  for (SsimWindow window : {SsimWindow::kGaussian, SsimWindow::kUniform}) {
    RetrievalOptions opt;
    opt.k = 7;
    opt.window = window;
    opt.threads = 2;
    expect_same(top_k_ssim(queries, refs, opt), top_k_ssim_brute_force(queries, refs, opt));
  }
}

TEST(Retrieval, EqualsBruteForceOnSmoothColourSetsBothKernels) {
  const auto queries = smooth_set(4, 3, 40, 37, 3);
  const auto refs = smooth_set(30, 3, 40, 37, 4);
  RetrievalOptions opt;
  opt.k = 10;
  const auto brute = top_k_ssim_brute_force(queries, refs, opt);
  expect_same(top_k_ssim(queries, refs, opt), brute);
  opt.allow_avx2 = false;
  expect_same(top_k_ssim(queries, refs, opt), brute);
}

TEST(Retrieval, TiesGoToTheLowerIndex) {
  auto refs = smooth_set(6, 1, 24, 24, 5);
  refs.push_back(refs[4]);  // 6 duplicates 4
  refs.insert(refs.begin(), refs[2]);  // 0 duplicates (old) 2, now 3
  const std::vector<Image> queries = {refs[5], refs[3]};  // exact copies of references 5 and 3
  RetrievalOptions opt;
  opt.k = 3;
  const auto fast = top_k_ssim(queries, refs, opt);
  expect_same(fast, top_k_ssim_brute_force(queries, refs, opt));
  // query 0 equals refs 5 and 7 (score 1): lower index first
  EXPECT_EQ(fast.index(0, 0), 5);
  EXPECT_EQ(fast.index(0, 1), 7);
  EXPECT_DOUBLE_EQ(fast.score(0, 0), fast.score(0, 1));
  EXPECT_EQ(fast.index(1, 0), 0);
  EXPECT_EQ(fast.index(1, 1), 3);
  EXPECT_NEAR(fast.score(1, 0), 1.0, 1e-6);
  EXPECT_GT(fast.rescored_pairs, 0);  // exact ties are settled in double
  opt.exact_ties = false;  // float ranking alone: the same lists here
  const auto plain = top_k_ssim(queries, refs, opt);
  EXPECT_EQ(plain.indices, fast.indices);
  EXPECT_EQ(plain.rescored_pairs, 0);
}

TEST(Retrieval, LeaveOneOutAndSameClass) {
  const auto set = smooth_set(16, 1, 26, 22, 6);
  std::vector<int> labels;
  for (int i = 0; i < 16; ++i) labels.push_back(i % 3);
  RetrievalOptions opt;
  opt.k = 4;
  opt.leave_one_out = true;
  opt.pool = RetrievalPool::kSameClass;
  opt.threads = 2;
  const auto fast = top_k_ssim(set, set, opt, labels, labels);
  expect_same(fast, top_k_ssim_brute_force(set, set, opt, labels, labels));
  for (int q = 0; q < 16; ++q)
    for (int j = 0; j < fast.k; ++j) {
      EXPECT_NE(fast.index(q, j), q);
      EXPECT_EQ(labels[fast.index(q, j)], labels[q]);
    }
  opt.pool = RetrievalPool::kAll;
  const auto all = top_k_ssim(set, set, opt);
  expect_same(all, top_k_ssim_brute_force(set, set, opt));
  for (int q = 0; q < 16; ++q) EXPECT_NE(all.index(q, 0), q);
}

TEST(Retrieval, IndependentOfThreadCountAndPermutationEquivariant) {
  const auto queries = random_set(6, 1, 20, 20, 7);
  auto refs = smooth_set(12, 1, 20, 20, 8);
  RetrievalOptions opt;
  opt.k = 5;
  opt.threads = 1;
  const auto one = top_k_ssim(queries, refs, opt);
  opt.threads = 2;
  const auto two = top_k_ssim(queries, refs, opt);
  EXPECT_EQ(one.indices, two.indices);
  EXPECT_EQ(one.scores, two.scores);
  // Reversing the references maps index i to 11 − i.
  std::vector<Image> reversed(refs.rbegin(), refs.rend());
  const auto rev = top_k_ssim(queries, reversed, opt);
  for (int q = 0; q < 6; ++q)
    for (int j = 0; j < 5; ++j) EXPECT_EQ(rev.index(q, j), 11 - one.index(q, j));
}

TEST(Retrieval, KLargerThanPoolIsClipped) {
  const auto set = random_set(5, 1, 16, 16, 9);
  RetrievalOptions opt;
  opt.k = 50;
  opt.leave_one_out = true;
  // Capture the warning through a ring-buffer logger, then restore the default logger.
  auto previous = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(8);
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  const auto r = top_k_ssim(set, set, opt);
  spdlog::set_default_logger(previous);
  EXPECT_EQ(r.k, 4);
  EXPECT_EQ(r.indices.size(), 20u);
  const auto lines = sink->last_formatted();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("k=50 is larger than the pool"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("using k=4"), std::string::npos) << lines[0];
}

TEST(Retrieval, BadInput) {
  const auto a = random_set(3, 1, 16, 16, 10);
  RetrievalOptions opt;
  opt.k = 2;
  EXPECT_THROW(top_k_ssim(a, {}, opt), RunError);  // empty pool
  try {
    top_k_ssim(random_set(2, 3, 16, 16, 11), a, opt);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("3x16x16"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1x16x16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(top_k_ssim(random_set(2, 1, 16, 17, 11), a, opt), ConfigError);
  auto nan = a;
  nan[2].at(0, 1, 1) = std::numeric_limits<float>::quiet_NaN();
  try {
    top_k_ssim(a, nan, opt);
    FAIL();
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("reference image 2"), std::string::npos) << e.what();
  }
  opt.pool = RetrievalPool::kSameClass;
  EXPECT_THROW(top_k_ssim(a, a, opt), ConfigError);                      // labels missing
  EXPECT_THROW(top_k_ssim(a, a, opt, {0, 0, 1}, {0, 0, 0}), RunError);   // class 1 has no references
  opt.pool = RetrievalPool::kAll;
  opt.k = 0;
  EXPECT_THROW(top_k_ssim(a, a, opt), ConfigError);
  opt.k = 1;
  opt.leave_one_out = true;
  EXPECT_THROW(top_k_ssim(random_set(4, 1, 16, 16, 1), a, opt), ConfigError);  // more queries than references
  EXPECT_THROW(top_k_ssim(random_set(2, 1, 8, 8, 1), random_set(2, 1, 8, 8, 2), RetrievalOptions{}), ConfigError);
}

TEST(Retrieval, LeaveOneOutOnAPrefixExcludesEachQuerysOwnReference) {
  // The auto-encoder's training subset (dae_train_images): queries = the first M references.
  const auto refs = smooth_set(14, 1, 24, 24, 21);
  const std::vector<Image> queries(refs.begin(), refs.begin() + 5);
  RetrievalOptions opt;
  opt.k = 3;
  opt.leave_one_out = true;
  const auto fast = top_k_ssim(queries, refs, opt);
  expect_same(fast, top_k_ssim_brute_force(queries, refs, opt));
  const auto whole = top_k_ssim(refs, refs, opt);
  for (int q = 0; q < 5; ++q)
    for (int j = 0; j < opt.k; ++j) {
      EXPECT_NE(fast.index(q, j), q);
      EXPECT_EQ(fast.index(q, j), whole.index(q, j)) << "a prefix query has the neighbours it has in the whole set";
    }
  // The store form, references read in blocks: the same lists.
  const auto stored = top_k_ssim(VectorImageStore(queries), VectorImageStore(refs), opt);
  EXPECT_EQ(stored.indices, fast.indices);
  EXPECT_EQ(stored.scores, fast.scores);
}

TEST(Retrieval, StoreFormEqualsTheVectorFormAcrossQueryChunksAndReferenceBlocks) {
  // 3×128×128 images: reference blocks hold 28 images, so 30 references take two blocks.
  const auto queries = smooth_set(3, 3, 128, 128, 22);
  const auto refs = smooth_set(30, 3, 128, 128, 23);
  RetrievalOptions opt;
  opt.k = 5;
  opt.threads = 2;
  const auto whole = top_k_ssim(queries, refs, opt);
  const auto stored = top_k_ssim(VectorImageStore(queries), VectorImageStore(refs), opt);
  EXPECT_EQ(stored.indices, whole.indices);
  EXPECT_EQ(stored.scores, whole.scores);
  EXPECT_EQ(retrieval_fingerprint(VectorImageStore(queries), VectorImageStore(refs), opt),
            retrieval_fingerprint(queries, refs, opt));
  // A non-finite pixel in a stored set is named with its index in the whole set.
  auto bad = refs;
  bad[29].data[0] = std::numeric_limits<float>::quiet_NaN();
  try {
    top_k_ssim(VectorImageStore(queries), VectorImageStore(bad), opt);
    FAIL() << "a NaN reference was accepted";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("29"), std::string::npos) << e.what();
  }
  EXPECT_THROW(top_k_ssim(VectorImageStore(smooth_set(2, 1, 128, 128, 24)), VectorImageStore(refs), opt), ConfigError);
}

TEST(Retrieval, FingerprintTracksInputsAndOptions) {
  const auto a = random_set(3, 1, 16, 16, 12);
  RetrievalOptions opt;
  opt.k = 2;
  const std::string base = retrieval_fingerprint(a, a, opt);
  EXPECT_EQ(base.size(), 64u);
  opt.threads = 2;
  EXPECT_EQ(retrieval_fingerprint(a, a, opt), base);
  opt.k = 3;
  EXPECT_NE(retrieval_fingerprint(a, a, opt), base);
  opt.k = 2;
  auto b = a;
  b[1].data[7] += 1e-3f;
  EXPECT_NE(retrieval_fingerprint(a, b, opt), base);
  opt.window = SsimWindow::kUniform;
  EXPECT_NE(retrieval_fingerprint(a, a, opt), base);
}

}  // namespace
}  // namespace frerec::spectral
