// The runner: records, resume, failures, and resume after a SIGKILLed child run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/file_lock.h"
#include "framework/runner/plan.h"
#include "framework/runner/record.h"
#include "framework/runner/runner.h"
#include "framework/runner/slurm.h"
#include "framework/runner/status.h"
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


// Cell locks (runner.h): a cell whose lock another process holds is skipped and reported
// with the holder's pid; once the lock is free the cell runs.
TEST_F(RunnerTest, CellLockedElsewhereIsSkippedAndReported) {
  const auto p = plan();
  const fs::path cell = run_.results_dir / "exp" / p.cells[0].id;
  fs::create_directories(cell);
  {
    FileLock held(cell / kCellLockFile, false, "test");  // another open file: conflicts like another process
    ASSERT_TRUE(held.held());
    held.write_owner("pid 4242 on testhost");
    const RunSummary s = run_plan(p, {}, run_);
    EXPECT_EQ(s.ran, 3u);
    EXPECT_EQ(s.running_elsewhere, 1u);
    ASSERT_EQ(s.running_cells.size(), 1u);
    EXPECT_EQ(s.running_cells[0], "cell 0 is running in another process (pid 4242 on testhost)");
    EXPECT_FALSE(fs::exists(cell / "record.json"));
    EXPECT_FALSE(fs::exists(cell / "config.yaml"));  // nothing of the cell was touched
  }
  const RunSummary s = run_plan(p, {}, run_);
  EXPECT_EQ(s.ran, 1u);
  EXPECT_EQ(s.skipped, 3u);
  EXPECT_EQ(s.running_elsewhere, 0u);
  EXPECT_EQ(lines_of(counter_).size(), 4u);
}

// A SIGKILLed holder leaves no lock behind: the kernel drops it with the process.
TEST_F(RunnerTest, KilledLockHolderReleasesTheCell) {
  const auto p = plan();
  const fs::path cell = run_.results_dir / "exp" / p.cells[0].id;
  fs::create_directories(cell);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    FileLock lock(cell / kCellLockFile, true, "test");
    lock.write_owner(lock_owner_text());
    [[maybe_unused]] const auto n = write(ready[1], "x", 1);
    while (true) pause();
  }
  char byte;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  EXPECT_TRUE(lock_is_held(cell / kCellLockFile));
  EXPECT_EQ(cell_lock_owner(cell).rfind("pid " + std::to_string(child) + " on ", 0), 0u) << cell_lock_owner(cell);
  RunSummary s = run_plan(p, {}, run_);
  EXPECT_EQ(s.running_elsewhere, 1u);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
  EXPECT_FALSE(lock_is_held(cell / kCellLockFile));
  s = run_plan(p, {}, run_);
  EXPECT_EQ(s.ran, 1u);
  EXPECT_EQ(s.running_elsewhere, 0u);
  EXPECT_EQ(collect_records(run_.results_dir / "exp").size(), 4u);
}

// Three worker processes run the same grid at once: every cell runs exactly once (without
// the locks each worker would run every cell), and each has one finished record.
TEST_F(RunnerTest, ConcurrentWorkersRunEachCellOnce) {
  const auto p = plan({"toy.sleep_ms=200"});
  std::vector<pid_t> workers;
  for (int w = 0; w < 3; ++w) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      RunContext run = run_;
      try {
        const RunSummary s = run_plan(p, {}, run);
        _exit(s.failed == 0 && s.ran + s.skipped + s.running_elsewhere == 4 ? 0 : 1);
      } catch (...) {
        _exit(2);
      }
    }
    workers.push_back(child);
  }
  for (const pid_t child : workers) {
    int status = 0;
    waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  auto ran = lines_of(counter_);
  std::sort(ran.begin(), ran.end());
  std::vector<std::string> ids;
  for (const auto& cell : p.cells) ids.push_back(cell.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ran, ids);  // each cell once
  EXPECT_EQ(collect_records(run_.results_dir / "exp").size(), 4u);
}

// `frerec status`: done / failed (first line of the error) / running (lock held) / pending,
// from the files alone; an error or record of another config counts as pending.
TEST_F(RunnerTest, StatusReadsRecordsErrorsAndLocks) {
  const auto p = plan();
  RunOptions one;
  one.cell = 0;
  run_plan(p, one, run_);  // writes plan.json and cell 0's record
  const fs::path root = run_.results_dir / "exp";
  fs::create_directories(root / p.cells[1].id);
  FileLock running(root / p.cells[1].id / kCellLockFile, false, "test");
  running.write_owner("pid 77 on node3");
  fs::create_directories(root / p.cells[2].id);
  fs::create_directories(root / p.cells[3].id);
  write_json_atomic(root / p.cells[2].id / "error.json",
                    {{"status", "failed"}, {"config_hash", p.cells[2].config_hash}, {"message", "boom: x=1\nmore"}});
  write_json_atomic(root / p.cells[3].id / "error.json",
                    {{"status", "failed"}, {"config_hash", "another"}, {"message", "old failure"}});
  const ExperimentStatus status = experiment_status(root);
  EXPECT_EQ(status.experiment, "exp");
  ASSERT_EQ(status.cells.size(), 4u);
  EXPECT_EQ(status.cells[0].state, CellState::done);
  EXPECT_EQ(status.cells[1].state, CellState::running);
  EXPECT_EQ(status.cells[1].detail, "pid 77 on node3");
  EXPECT_EQ(status.cells[2].state, CellState::failed);
  EXPECT_EQ(status.cells[2].detail, "boom: x=1");
  EXPECT_EQ(status.cells[3].state, CellState::pending);
  EXPECT_EQ(status.to_text().substr(0, status.to_text().find('\n')),
            "exp: 4 cells: 1 done, 1 failed, 1 running, 1 pending");
  const auto json = status.to_json();
  EXPECT_EQ(json["counts"]["running"], 1);
  EXPECT_EQ(json["counts"]["total"], 4);
  EXPECT_EQ(json["cells"][2]["error"], "boom: x=1");
  EXPECT_EQ(json["cells"][1]["owner"], "pid 77 on node3");
  // The status probe is not mistaken for a worker by a run that starts meanwhile.
  EXPECT_TRUE(lock_is_held(root / p.cells[1].id / kCellLockFile));
  EXPECT_NE(testing::error_of<ConfigError>([&] { experiment_status(dir_ / "nowhere"); }).find("is not a results folder"),
            std::string::npos);
  fs::create_directories(dir_ / "empty");
  EXPECT_NE(testing::error_of<ConfigError>([&] { experiment_status(dir_ / "empty"); }).find("holds no plan listing"),
            std::string::npos);
}

// `frerec slurm`: the frozen plan, the array of cells still to run, the throttle, GPU and
// extra lines, per-cell logs, and the report job's script.
TEST_F(RunnerTest, SlurmJobFreezesThePlanAndListsOnlyUnfinishedCells) {
  const auto p = plan();
  RunOptions one;
  one.cell = 1;
  run_plan(p, one, run_);
  write_text(dir_ / "fake-frerec", "#!/bin/sh\n");
  SlurmCommand command;
  command.binary = dir_ / "fake-frerec";
  command.config_file = dir_ / "exp.yaml";
  command.overrides = {"toy.counter_file=" + counter_.string(), "it's=quoted"};
  command.results_dir = run_.results_dir;
  command.cache_dir = run_.cache_dir;
  SlurmOptions options;
  options.cpus_per_cell = 4;
  options.gpus_per_cell = 1;
  options.max_parallel = 2;
  options.partition = "gpu";
  options.time = "1:00:00";
  options.mem = "8G";
  options.extra = {"--qos=high", "#SBATCH --constraint=a100", "exclusive"};
  const SlurmJob job = write_slurm_job("exp", {p}, command, options);
  EXPECT_EQ(job.total_cells, 4u);
  EXPECT_EQ(job.array_cells, (std::vector<std::size_t>{0, 2, 3}));
  EXPECT_EQ(job.plan_hash, plan_hash({p}));
  const std::string array = read_file(job.array_script);
  for (const std::string& line : std::vector<std::string>{"#SBATCH --array=0-2%2\n", "#SBATCH --cpus-per-task=4\n", "#SBATCH --gres=gpu:1\n", "#SBATCH --mem=8G\n",
        "#SBATCH --partition=gpu\n", "#SBATCH --time=1:00:00\n", "#SBATCH --qos=high\n",
        "#SBATCH --constraint=a100\n", "#SBATCH --exclusive\n", "cells=(0 2 3)\n",
        "cell=${cells[$SLURM_ARRAY_TASK_ID]}\n", "/cell_\"$cell\".out", "/cell_\"$cell\".err",
        " --threads 4 --device cuda ", " run '" + command.config_file.string() + "' ", "'it'\\''s=quoted'",
        " --cell \"$cell\" --frozen-plan '" + (job.dir / "plan.json").string() + "'"})
    EXPECT_NE(array.find(line), std::string::npos) << line << "\n" << array;
  EXPECT_NE(array.find("exec '" + (job.dir / "frerec").string() + "'"), std::string::npos) << array;
  EXPECT_TRUE(fs::exists(job.dir / "frerec"));
  const std::string report = read_file(job.report_script);
  EXPECT_NE(report.find(" report '" + (run_.results_dir / "exp").string() + "'"), std::string::npos) << report;
  EXPECT_EQ(report.find("--gres"), std::string::npos) << report;
  EXPECT_NE(read_file(job.submit_script).find("--dependency=afterany:"), std::string::npos);
  const auto frozen = read_json_file(job.dir / "plan.json");
  ASSERT_TRUE(frozen);
  EXPECT_EQ((*frozen)["config_hash"], job.plan_hash);
  EXPECT_EQ((*frozen)["array"], nlohmann::json({0, 2, 3}));
  EXPECT_EQ((*frozen)["cells"][1]["done"], true);

  // The plan it froze is checked by each task: the same config passes, an edited one is
  // refused with both hashes named.
  EXPECT_NO_THROW(check_frozen_plan(job.dir / "plan.json", {p}));
  const auto edited = plan({"method.alpha.strength=2.0"});
  const std::string error = testing::error_of<ConfigError>([&] { check_frozen_plan(job.dir / "plan.json", {edited}); });
  EXPECT_NE(error.find("config changed"), std::string::npos) << error;
  EXPECT_NE(error.find(job.plan_hash), std::string::npos) << error;
  EXPECT_NE(error.find(plan_hash({edited})), std::string::npos) << error;
  EXPECT_NE(testing::error_of<ConfigError>([&] { check_frozen_plan(dir_ / "missing.json", {p}); }).find("--frozen-plan"),
            std::string::npos);

  // Bad options: one error naming the option; nothing written.
  for (const auto& [bad, expected] : std::vector<std::pair<std::function<void(SlurmOptions&)>, std::string>>{
           {[](SlurmOptions& o) { o.cpus_per_cell = 0; }, "--cpus-per-cell 0"},
           {[](SlurmOptions& o) { o.gpus_per_cell = -1; }, "--gpus-per-cell -1"},
           {[](SlurmOptions& o) { o.max_parallel = -3; }, "--max-parallel -3"},
           {[](SlurmOptions& o) { o.partition = "a b"; }, "--partition 'a b'"},
           {[](SlurmOptions& o) { o.extra = {"--qos=x\n#SBATCH --x"}; }, "single line"}}) {
    SlurmOptions wrong;
    bad(wrong);
    EXPECT_NE(testing::error_of<ConfigError>([&] { write_slurm_job("exp2", {p}, command, wrong); }).find(expected),
              std::string::npos)
        << expected;
  }
  EXPECT_FALSE(fs::exists(run_.results_dir / "exp2"));

  // Everything done: plan.json only, no array.
  run_plan(p, {}, run_);
  const SlurmJob none = write_slurm_job("exp", {p}, command, {});
  EXPECT_TRUE(none.array_cells.empty());
}

TEST(Slurm, SbatchJobIdsAreParsed) {
  EXPECT_EQ(parse_sbatch_job_id("1234\n"), "1234");
  EXPECT_EQ(parse_sbatch_job_id("sbatch: warning: x\n77;cluster\n"), "77");
  EXPECT_THROW(parse_sbatch_job_id("sbatch: error: Batch job submission failed\n"), ConfigError);
  EXPECT_THROW(parse_sbatch_job_id(""), ConfigError);
}

}  // namespace
}  // namespace frerec
