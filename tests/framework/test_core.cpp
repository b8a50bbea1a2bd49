// SHA-256 against the FIPS 180-2 test vectors; atomic writes.
#include <gtest/gtest.h>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/progress.h"
#include "framework/core/system_info.h"
#include "framework/runner/record.h"
#include "tests/framework/test_util.h"

namespace frerec {
namespace {

TEST(Hash, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string million(1000000, 'a');
  EXPECT_EQ(sha256_hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Incremental updates equal one update.
  Hasher h;
  h.update("ab").update("c");
  EXPECT_EQ(h.hex(), sha256_hex("abc"));
}

TEST(AtomicFile, WritesCompletelyAndLeavesNoTemporaries) {
  testing::TempDir dir;
  const auto path = dir / "sub/out.json";
  write_file_atomic(path, "first");
  write_file_atomic(path, "second version");
  EXPECT_EQ(read_file(path), "second version");
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(path.parent_path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST(AtomicFile, FailureKeepsThePreviousFile) {
  testing::TempDir dir;
  const auto path = dir / "out.txt";
  write_file_atomic(path, "kept");
  // The rename target is a non-empty directory: the commit fails, the old content stays.
  const auto blocker = dir / "blocker";
  std::filesystem::create_directories(blocker / "x");
  EXPECT_THROW(write_file_atomic(blocker, "new"), RunError);
  EXPECT_EQ(read_file(path), "kept");
  EXPECT_THROW(read_file(dir / "missing.txt"), RunError);
}

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(format_duration(12.34), "12.3s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3725), "1h02m");
  EXPECT_EQ(format_duration(-1), "?");
}

}  // namespace
}  // namespace frerec

namespace frerec {
// record.json names the commit the binary was built from, a dirty flag, and the checkout's
// commit only when it differs (a binary built before the last commit).
TEST(Environment, NamesTheBuildCommitAndDirtyFlag) {
  const nlohmann::json env = environment_json(2, "cpu");
  const std::string built = build_commit();
  ASSERT_TRUE(env["git_commit"].is_string());
  if (built != "unknown") {
    EXPECT_EQ(built.size(), 40u) << built;
    EXPECT_EQ(env["git_commit"], built);
    EXPECT_EQ(env.contains("checkout_commit"), git_commit() != "unknown" && git_commit() != built) << env.dump();
  }
  ASSERT_TRUE(env["git_dirty"].is_boolean()) << env.dump();
  EXPECT_EQ(env["git_dirty"].get<bool>(), build_dirty());
  EXPECT_EQ(env["threads"], 2);
}
}  // namespace frerec
