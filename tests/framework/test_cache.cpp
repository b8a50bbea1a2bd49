// The HDF5 artifact cache: build once, hit afterwards, rebuild on stale / truncated /
// corrupt files with a warning, and stay readable from Python (h5py).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <fstream>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "framework/cache/artifact_cache.h"
#include "framework/cache/hdf5_io.h"
#include "framework/core/error.h"
#include "tests/framework/test_util.h"

namespace frerec {
namespace {

using testing::TempDir;

ArtifactKey key(const std::string& params = "r=0.5", const std::string& code = "1") {
  return ArtifactKey{"retrieval", "inputs-abc", params, code};
}

void build_array(const std::filesystem::path& tmp, float value, int* calls) {
  ++*calls;
  h5::File file(tmp, "w");
  h5::write_array<float>(file, "scores", {value, value + 1, value + 2}, {3});
  h5::write_array<std::int64_t>(file, "indices", {2, 0, 1}, {3});
  h5::write_strings(file, "ids", {"a", "b", "c"});
}

TEST(ArtifactCache, BuildsOnceThenHits) {
  TempDir dir;
  ArtifactCache cache(dir / "cache");
  int calls = 0;
  const auto path = cache.get_or_build(key(), [&](const auto& tmp) { build_array(tmp, 1.0f, &calls); });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(cache.is_valid(key()));
  cache.get_or_build(key(), [&](const auto& tmp) { build_array(tmp, 1.0f, &calls); });
  EXPECT_EQ(calls, 1);
  h5::File file(path, "r");
  EXPECT_EQ(h5::read_array<float>(file, "scores"), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(h5::read_strings(file, "ids"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(h5::read_attribute(file, "frerec_kind"), "retrieval");
  EXPECT_EQ(h5::read_attribute(file, "frerec_params"), "r=0.5");
  EXPECT_EQ(h5::read_attribute(file, "frerec_complete"), "1");
  // Other parameters or another code version → another artifact.
  cache.get_or_build(key("r=0.6"), [&](const auto& tmp) { build_array(tmp, 2.0f, &calls); });
  cache.get_or_build(key("r=0.5", "2"), [&](const auto& tmp) { build_array(tmp, 3.0f, &calls); });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(cache.list().size(), 3u);
}

TEST(ArtifactCache, TruncatedOrCorruptArtifactIsRebuilt) {
  TempDir dir;
  ArtifactCache cache(dir / "cache");
  int calls = 0;
  const auto path = cache.get_or_build(key(), [&](const auto& tmp) { build_array(tmp, 1.0f, &calls); });
  // Truncate to half its size.
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  EXPECT_FALSE(cache.is_valid(key()));
  std::ostringstream log;  // the warning reads as a sentence (not "is cannot be opened")
  const auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  cache.get_or_build(key(), [&](const auto& tmp) { build_array(tmp, 1.0f, &calls); });
  spdlog::default_logger()->sinks().pop_back();
  EXPECT_NE(log.str().find("(retrieval) is unreadable as HDF5 (truncated or corrupt); rebuilding it"), std::string::npos)
      << log.str();
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(cache.is_valid(key()));
  // Garbage bytes.
  std::ofstream(path, std::ios::trunc) << "not an hdf5 file";
  cache.get_or_build(key(), [&](const auto& tmp) { build_array(tmp, 1.0f, &calls); });
  EXPECT_EQ(calls, 3);
  h5::File file(path, "r");
  EXPECT_EQ(h5::read_array<float>(file, "scores").size(), 3u);
}

// Overwrites `count` bytes at the start of the first chunk of dataset `name` (its data, not
// HDF5's metadata), as a flipped disk block or a `dd ... conv=notrunc` would.
void corrupt_first_chunk(const std::filesystem::path& path, const std::string& name, std::size_t count) {
  haddr_t address = 0;
  {
    h5::File file(path, "r");
    const hid_t set = H5Dopen2(file.id(), name.c_str(), H5P_DEFAULT);
    ASSERT_GE(set, 0);
    const hid_t space = H5Dget_space(set);
    hsize_t offset[8] = {0};
    unsigned mask = 0;
    hsize_t size = 0;
    ASSERT_GE(H5Dget_chunk_info(set, space, 0, offset, &mask, &address, &size), 0) << name << " is not chunked";
    H5Sclose(space);
    H5Dclose(set);
  }
  std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);
  out.seekp(static_cast<std::streamoff>(address));
  for (std::size_t i = 0; i < count; ++i) out.put(static_cast<char>(0xA5 ^ i));
}

// Changed bytes inside a dataset fail its checksum; the artifact is rebuilt
// with a warning instead of being read as data.
TEST(ArtifactCache, ChangedBytesInsideADatasetAreRebuilt) {
  TempDir dir;
  ArtifactCache cache(dir / "cache");
  int calls = 0;
  auto build = [&](const std::filesystem::path& tmp) {
    ++calls;
    h5::File file(tmp, "w");
    std::vector<float> values(5000);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
    h5::write_array<float>(file, "scores", values, {50, 100});
  };
  const auto path = cache.get_or_build(key(), build);
  EXPECT_EQ(h5::verify_checksums(path), "");
  corrupt_first_chunk(path, "scores", 16);
  EXPECT_NE(h5::verify_checksums(path).find("/scores"), std::string::npos);
  cache.get_or_build(key(), build);
  EXPECT_EQ(calls, 2);
  h5::File file(path, "r");
  EXPECT_EQ(h5::read_array<float>(file, "scores")[1], 1.0f);
  EXPECT_EQ(h5::verify_checksums(path), "");
}

TEST(ArtifactCache, FailedBuildLeavesNothingBehind) {
  TempDir dir;
  ArtifactCache cache(dir / "cache");
  EXPECT_THROW(cache.get_or_build(key(), [](const auto& tmp) {
    h5::File file(tmp, "w");
    throw RunError("builder failed");
  }), RunError);
  EXPECT_FALSE(cache.is_valid(key()));
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "cache")) {
    if (e.is_regular_file()) {
      EXPECT_EQ(e.path().extension(), ".lock") << e.path();
    }
  }
}

TEST(ArtifactCache, ClearRemovesArtifacts) {
  TempDir dir;
  ArtifactCache cache(dir / "cache");
  int calls = 0;
  cache.get_or_build(key(), [&](const auto& tmp) { build_array(tmp, 1.0f, &calls); });
  EXPECT_EQ(cache.clear(std::chrono::hours(1)), 0u);  // too young
  EXPECT_EQ(cache.clear(), 1u);
  EXPECT_TRUE(cache.list().empty());
}

// `cache clear` and `cache ls` see only what the cache wrote: a user's HDF5 files kept in
// the cache folder (even a copy of an artifact, or a digest-named file without our
// attributes) and other files stay.
TEST(ArtifactCache, ClearAndListTouchOnlyArtifacts) {
  TempDir dir;
  ArtifactCache cache(dir / "cache");
  int calls = 0;
  const auto artifact = cache.get_or_build(key(), [&](const auto& tmp) { build_array(tmp, 1.0f, &calls); });
  const std::filesystem::path digest_name = artifact.filename();
  std::vector<std::filesystem::path> users = {dir / "cache/mydata/data.h5", dir / "cache/top.h5",
                                              dir / "cache/retrieval/mine.h5", dir / "cache/mydata" / digest_name,
                                              dir / "cache/retrieval/0123456789abcdef01234567.h5",
                                              dir / "cache/retrieval/notes.txt"};
  std::filesystem::create_directories(dir / "cache/mydata");
  std::filesystem::copy_file(artifact, users[0]);  // a copy of an artifact elsewhere is the user's
  std::filesystem::copy_file(artifact, users[3]);
  for (const auto& path : {users[1], users[2], users[4]}) build_array(path, 5.0f, &calls);  // HDF5, no attributes
  std::ofstream(users[5]) << "notes";
  ASSERT_EQ(cache.list().size(), 1u);
  EXPECT_EQ(cache.list()[0].path, artifact);
  EXPECT_EQ(cache.clear(), 1u);
  EXPECT_FALSE(std::filesystem::exists(artifact));
  for (const auto& path : users) EXPECT_TRUE(std::filesystem::exists(path)) << path;
  EXPECT_TRUE(cache.list().empty());
  // A truncated artifact and a builder's stray temporary are the cache's own.
  const auto again = cache.get_or_build(key(), [&](const auto& tmp) { build_array(tmp, 1.0f, &calls); });
  std::filesystem::resize_file(again, std::filesystem::file_size(again) / 2);
  std::ofstream(again.string() + ".tmp.1.0") << "partial";
  EXPECT_EQ(cache.list().size(), 1u);
  EXPECT_FALSE(cache.list()[0].complete);
  EXPECT_EQ(cache.clear(), 2u);
  for (const auto& path : users) EXPECT_TRUE(std::filesystem::exists(path)) << path;
}

// clear takes each artifact's writer lock: a build in progress keeps its temporary (and
// commits its artifact) while clear removes everything else.
TEST(ArtifactCache, ClearLeavesAnArtifactBeingBuilt) {
  TempDir dir;
  ArtifactCache cache(dir / "cache");
  int calls = 0;
  const auto other = cache.get_or_build(key("r=0.9"), [&](const auto& tmp) { build_array(tmp, 2.0f, &calls); });
  std::size_t removed = 0, in_use = 0;
  const auto path = cache.get_or_build(key(), [&](const auto& tmp) {
    build_array(tmp, 1.0f, &calls);
    removed = cache.clear(std::chrono::seconds(0), &in_use);
    EXPECT_TRUE(std::filesystem::exists(tmp));
  });
  EXPECT_EQ(removed, 1u);
  EXPECT_EQ(in_use, 1u);
  EXPECT_FALSE(std::filesystem::exists(other));
  EXPECT_TRUE(cache.is_valid(key()));
  EXPECT_EQ(h5::read_array<float>(h5::File(path, "r"), "scores"), (std::vector<float>{1, 2, 3}));
}

TEST(ArtifactCache, ReadableWithH5py) {
  if (std::system("/usr/bin/python3 -c 'import h5py' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-h5py is not installed (scripts/test.sh installs it)";
  TempDir dir;
  ArtifactCache cache(dir / "cache");
  int calls = 0;
  const auto path = cache.get_or_build(key(), [&](const auto& tmp) { build_array(tmp, 1.5f, &calls); });
  const std::string script = std::string(FREREC_SOURCE_DIR) + "/tests/golden/framework/read_artifact.py";
  const std::string out = (dir / "h5py.txt").string();
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + path.string() + " > " + out).c_str()), 0);
  EXPECT_EQ(testing::read_text(out),
            "kind=retrieval complete=1 params=r=0.5\nscores=[1.5, 2.5, 3.5]\nindices=[2, 0, 1]\nids=['a', 'b', 'c']\n");
}


// Several processes ask for one entry at once (run_parallel.sh workers, array tasks sharing
// a cache): exactly one builds, all get the complete artifact, and a reader polling the
// entry's path while it is being built never finds a half-written file there. Then the
// entry is corrupted and the processes race again: one rebuilds, all read the new file.
TEST(ArtifactCache, ConcurrentProcessesBuildOnceAndNeverReadAHalfWrittenEntry) {
  TempDir dir;
  const auto cache_dir = dir / "cache";
  const auto builds = dir / "builds.txt";
  const std::vector<float> expected = {4, 5, 6};
  // A slow builder: writes part of the file, waits, then the rest; logs each build.
  auto slow_build = [&](const std::filesystem::path& tmp) {
    std::ofstream(builds, std::ios::app) << getpid() << "\n";
    h5::File file(tmp, "w");
    h5::write_array<float>(file, "scores", expected, {3});
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    h5::write_array<std::int64_t>(file, "indices", {2, 0, 1}, {3});
  };
  auto race = [&](int processes, bool poll) {
    int start[2];
    ASSERT_EQ(pipe(start), 0);
    std::vector<pid_t> children;
    for (int i = 0; i < processes; ++i) {
      const pid_t child = fork();
      ASSERT_GE(child, 0);
      if (child == 0) {
        close(start[1]);
        char byte;
        [[maybe_unused]] const auto n = read(start[0], &byte, 1);  // returns at EOF: all start together
        try {
          ArtifactCache cache(cache_dir);
          const auto path = cache.get_or_build(key(), slow_build);
          const h5::File file(path, "r");
          const bool ok = h5::read_array<float>(file, "scores") == expected &&
                          h5::read_array<std::int64_t>(file, "indices") == std::vector<std::int64_t>{2, 0, 1};
          _exit(ok ? 0 : 1);
        } catch (...) {
          _exit(2);
        }
      }
      children.push_back(child);
    }
    // The poller: whatever file sits at the entry's path is complete.
    const pid_t poller = poll ? fork() : -1;
    if (poller == 0) {
      close(start[1]);
      char byte;
      [[maybe_unused]] const auto n = read(start[0], &byte, 1);
      const ArtifactCache cache(cache_dir);
      const auto path = cache.path_for(key());
      int checks = 0;
      for (const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
           std::chrono::steady_clock::now() < end;) {
        if (std::filesystem::exists(path)) {
          if (read_h5_string_attribute(path, "frerec_complete") != "1") _exit(3);
          ++checks;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      _exit(checks > 0 ? 0 : 4);
    }
    close(start[0]);
    close(start[1]);
    for (const pid_t child : children) {
      int status = 0;
      waitpid(child, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker status " << status;
    }
    if (poll) {
      int status = 0;
      waitpid(poller, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "poller status " << status;
    }
  };
  race(6, true);
  const std::string first = testing::read_text(builds);
  EXPECT_EQ(std::count(first.begin(), first.end(), '\n'), 1) << first;
  ArtifactCache cache(cache_dir);
  ASSERT_TRUE(cache.is_valid(key()));
  // Corrupt the entry (cut in half); the next race rebuilds it exactly once.
  const auto path = cache.path_for(key());
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  EXPECT_FALSE(cache.is_valid(key()));
  race(4, false);
  const std::string log = testing::read_text(builds);
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << log;
  EXPECT_TRUE(cache.is_valid(key()));
  for (const auto& item : std::filesystem::directory_iterator(path.parent_path()))
    EXPECT_EQ(item.path().filename().string().find(".tmp."), std::string::npos) << item.path();
}

}  // namespace
}  // namespace frerec
