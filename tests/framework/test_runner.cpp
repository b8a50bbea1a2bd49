// The runner: records, resume, failures, and resume after a SIGKILLed child run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "framework/core/atomic_file.h"
#include "framework/runner/plan.h"
#include "framework/runner/record.h"
#include "framework/runner/runner.h"
#include "tests/framework/test_util.h"
#include "tests/framework/toy_components.h"

namespace frerec {
namespace {

using testing::TempDir;
using testing::write_text;

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::register_toy_components();
    run_.results_dir = dir_ / "results";
    run_.cache_dir = dir_ / "cache";
    counter_ = dir_ / "counter.txt";
  }
  ExperimentPlan plan(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> overrides = {"toy.counter_file=" + counter_.string()};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    write_text(dir_ / "exp.yaml", "experiment: {kind: toy}\ngrid:\n  method.name: [alpha, beta]\n  seed: [0, 1]\n");
    return make_plan(dir_ / "exp.yaml", overrides);
  }
  TempDir dir_;
  RunContext run_;
  std::filesystem::path counter_;
};

namespace fs = std::filesystem;

// Temporaries of dead processes go, those of live ones (this process) and
// other files stay; non-recursive and min_age limit the sweep.
TEST(AtomicFile, StaleTemporariesOfDeadProcessesAreRemoved) {
  testing::TempDir dir;
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // a pid that no longer runs
  const std::string dead = std::to_string(child), alive = std::to_string(getpid());
  for (const std::string& name : std::vector<std::string>{"a.json.tmp." + alive + ".0", "b.json.tmp." + dead + ".3",
                                                         "sub/c.pt.tmp." + dead + ".0", "d.tmp.notes", "e.json"})
    testing::write_text(dir / name, "x");
  EXPECT_EQ(remove_stale_temporaries(dir.path(), true, std::chrono::seconds(3600)), 0u);  // all too young
  EXPECT_EQ(remove_stale_temporaries(dir.path(), false), 1u);
  EXPECT_FALSE(fs::exists(dir / ("b.json.tmp." + dead + ".3")));
  EXPECT_TRUE(fs::exists(dir / ("sub/c.pt.tmp." + dead + ".0")));
  EXPECT_EQ(remove_stale_temporaries(dir.path()), 1u);
  for (const std::string& name : std::vector<std::string>{"a.json.tmp." + alive + ".0", "d.tmp.notes", "e.json"})
    EXPECT_TRUE(fs::exists(dir / name)) << name;
}

// Bytes that are not UTF-8 are written as \xNN; valid text (ASCII, two-
// to four-byte sequences) is unchanged; overlongs, surrogates, lone continuation bytes and
// cut sequences are escaped byte by byte.
TEST(Utf8, InvalidBytesAreEscapedValidTextIsKept) {
  EXPECT_EQ(escape_invalid_utf8("plain/0001.png"), "plain/0001.png");
  const std::string valid = "r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac \xf0\x9f\xa7\xa0.png";  // résumé € 🧠
  EXPECT_EQ(escape_invalid_utf8(valid), valid);
  EXPECT_EQ(escape_invalid_utf8("r\xe9sum\xe9.png"), "r\\xe9sum\\xe9.png");  // Latin-1
  EXPECT_EQ(escape_invalid_utf8("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(escape_invalid_utf8("\xed\xa0\x80"), "\\xed\\xa0\\x80");          // a surrogate
  EXPECT_EQ(escape_invalid_utf8("\x80" "a"), "\\x80a");                         // lone continuation
  EXPECT_EQ(escape_invalid_utf8("a\xe2\x82"), "a\\xe2\\x82");                 // cut at the end
  const nlohmann::json value = {{"k\xff", {"\xfe", 1, "ok"}}};
  EXPECT_THROW(value.dump(), nlohmann::json::type_error);  // what crashed calibrate, metrics and run
  EXPECT_EQ(json_text(value), R"({"k\\xff":["\\xfe",1,"ok"]})");
}

TEST_F(RunnerTest, WritesCellFoldersAndSkipsFinishedCells) {
  const auto p = plan();
  RunSummary s = run_plan(p, {}, run_);
  EXPECT_EQ(s.ran, 4u);
  const auto cell = run_.results_dir / "exp" / "toy/d1/alpha/none/seed=1";
  for (const char* f : {"config.yaml", "overrides.yaml", "record.json", "artifact.txt", "log.txt"})
    EXPECT_TRUE(std::filesystem::exists(cell / f)) << f;
  const auto record = read_json_file(cell / "record.json");
  ASSERT_TRUE(record);
  EXPECT_EQ((*record)["status"], "ok");
  EXPECT_EQ((*record)["config_hash"], p.cells[1].config_hash);
  EXPECT_NEAR((*record)["metrics"]["auc"].get<double>(), 0.61, 1e-12);
  EXPECT_TRUE((*record)["environment"]["libraries"].contains("hdf5"));
  EXPECT_TRUE((*record)["environment"]["libraries"].contains("fftw"));
  EXPECT_TRUE((*record)["environment"]["libraries"].contains("opencv"));
  EXPECT_EQ(collect_records(run_.results_dir / "exp").size(), 4u);

  s = run_plan(p, {}, run_);
  EXPECT_EQ(s.ran, 0u);
  EXPECT_EQ(s.skipped, 4u);
  EXPECT_EQ(lines_of(counter_).size(), 4u);

  // A changed config reruns its cells; --fresh reruns everything.
  s = run_plan(plan({"method.alpha.strength=2.0"}), {}, run_);
  EXPECT_EQ(s.ran, 2u);  // only the alpha cells' hash changed
  RunOptions fresh;
  fresh.fresh = true;
  s = run_plan(p, fresh, run_);
  EXPECT_EQ(s.ran, 4u);
}

TEST_F(RunnerTest, FailedCellKeepsItsErrorAndIsRetried) {
  auto p = plan({"toy.fail=true"});
  RunSummary s = run_plan(p, {}, run_);
  EXPECT_EQ(s.failed, 4u);
  const auto cell = run_.results_dir / "exp" / "toy/d1/beta/none/seed=0";
  const auto error = read_json_file(cell / "error.json");
  ASSERT_TRUE(error);
  EXPECT_NE((*error)["message"].get<std::string>().find("failing on request"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(cell / "record.json"));
  // Fail fast stops after the first failure.
  RunOptions ff;
  ff.fail_fast = true;
  s = run_plan(p, ff, run_);
  EXPECT_EQ(s.failed, 1u);
  // Fixed: the retry succeeds and removes the error.
  s = run_plan(plan(), {}, run_);
  EXPECT_EQ(s.ran, 4u);
  EXPECT_FALSE(std::filesystem::exists(cell / "error.json"));
}

TEST_F(RunnerTest, SingleCellForJobArrays) {
  const auto p = plan();
  RunOptions one;
  one.cell = 2;
  const RunSummary s = run_plan(p, one, run_);
  EXPECT_EQ(s.ran, 1u);
  EXPECT_EQ(lines_of(counter_), std::vector<std::string>{"toy/d1/beta/none/seed=0"});
  one.cell = 9;
  EXPECT_THROW(run_plan(p, one, run_), ConfigError);
}

// A child process runs the grid and is SIGKILLed in the middle of a cell; the rerun does
// only the cells without a record, and no finished cell is lost or redone.
TEST_F(RunnerTest, ResumeAfterKilledChildRedoesOnlyMissingCells) {
  const auto p = plan({"toy.sleep_ms=300"});
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    RunContext run = run_;
    run_plan(p, {}, run);
    _exit(0);
  }
  // Wait until two cells have finished, then kill the child during the third.
  const auto root = run_.results_dir / "exp";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (collect_records(root).size() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  const std::size_t finished = collect_records(root).size();
  ASSERT_GE(finished, 2u);
  ASSERT_LT(finished, 4u);
  const auto started_before = lines_of(counter_);

  // The killed cell's log keeps what it wrote before the kill, and its
  // half-written temporary is there until the next run.
  std::vector<fs::path> killed_logs;
  std::size_t temporaries = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.path().filename() == "log.txt" && !fs::exists(e.path().parent_path() / "record.json"))
      killed_logs.push_back(e.path());
    temporaries += e.path().filename().string().find(".tmp.") != std::string::npos;
  }
  ASSERT_EQ(killed_logs.size(), 1u);
  EXPECT_NE(read_file(killed_logs[0]).find("toy: cell "), std::string::npos) << read_file(killed_logs[0]);
  EXPECT_GE(temporaries, 1u);

  const RunSummary s = run_plan(p, {}, run_);
  EXPECT_EQ(s.skipped, finished);
  EXPECT_EQ(s.ran, 4u - finished);
  for (const auto& e : fs::recursive_directory_iterator(root))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  EXPECT_EQ(collect_records(root).size(), 4u);
  // Only the unfinished cells ran again.
  const auto all = lines_of(counter_);
  EXPECT_EQ(all.size(), started_before.size() + (4u - finished));
}

}  // namespace
}  // namespace frerec

namespace frerec {
namespace {

TEST_F(RunnerTest, StaleCheckpointsAreRemovedOnlyWhenTheConfigChanged) {
  const auto p = plan({"toy.fail=true"});
  run_plan(p, {}, run_);  // fails: leaves config.yaml, no record
  const auto cell = run_.results_dir / "exp" / "toy/d1/alpha/none/seed=0";
  testing::write_text(cell / "checkpoints/last.pt", "checkpoint");
  run_plan(p, {}, run_);  // same config: an interrupted run's checkpoint is kept for resuming
  EXPECT_TRUE(std::filesystem::exists(cell / "checkpoints/last.pt"));
  run_plan(plan(), {}, run_);  // changed config: stale checkpoint removed
  EXPECT_FALSE(std::filesystem::exists(cell / "checkpoints/last.pt"));
  testing::write_text(cell / "checkpoints/last.pt", "checkpoint");
  RunOptions fresh;
  fresh.fresh = true;
  run_plan(plan(), fresh, run_);
  EXPECT_FALSE(std::filesystem::exists(cell / "checkpoints/last.pt"));
}

}  // namespace
}  // namespace frerec
