#include "framework/runner/slurm.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/system_info.h"
#include "framework/runner/record.h"
#include "framework/runner/runner.h"

namespace frerec {
namespace fs = std::filesystem;
namespace {

// A word for bash, single-quoted.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Values that go into an #SBATCH line: one word, no line breaks.
void check_word(const std::string& option, const std::string& value) {
  if (value.find_first_of(" \t\r\n'\"") != std::string::npos)
    throw ConfigError(fmt::format("slurm: {} '{}' must be one word without spaces or quotes", option, value));
}

// "--qos=high", "qos=high" or "#SBATCH --qos=high" -> "#SBATCH --qos=high".
std::string sbatch_line(const std::string& extra) {
  if (extra.find_first_of("\r\n") != std::string::npos)
    throw ConfigError("slurm: --extra '" + extra + "' must be a single line");
  std::string line = extra;
  if (line.rfind("#SBATCH", 0) == 0) line = line.substr(7);
  line.erase(0, line.find_first_not_of(" \t"));
  if (line.empty()) throw ConfigError("slurm: --extra is empty; give an sbatch option such as --extra=--qos=high");
  if (line[0] != '-') line = "--" + line;
  return "#SBATCH " + line;
}

void validate(const SlurmOptions& options) {
  if (options.cpus_per_cell < 1)
    throw ConfigError(fmt::format("slurm: --cpus-per-cell {} must be at least 1", options.cpus_per_cell));
  if (options.gpus_per_cell < 0)
    throw ConfigError(fmt::format("slurm: --gpus-per-cell {} must be 0 or more", options.gpus_per_cell));
  if (options.max_parallel < 0)
    throw ConfigError(fmt::format("slurm: --max-parallel {} must be 0 (no limit) or more", options.max_parallel));
  check_word("--partition", options.partition);
  check_word("--time", options.time);
  check_word("--mem", options.mem);
  check_word("--account", options.account);
}

// The #SBATCH lines both jobs share.
std::string common_lines(const SlurmOptions& options, const fs::path& workdir) {
  std::string text = fmt::format("#SBATCH --chdir={}\n", workdir.string());
  if (!options.partition.empty()) text += "#SBATCH --partition=" + options.partition + "\n";
  if (!options.account.empty()) text += "#SBATCH --account=" + options.account + "\n";
  if (!options.time.empty()) text += "#SBATCH --time=" + options.time + "\n";
  return text;
}

std::string global_options(const SlurmCommand& command, const fs::path& binary, int threads, const std::string& device) {
  return fmt::format("{} --threads {} --device {} --cache-dir {} --results-dir {}", quoted(binary.string()), threads,
                     device, quoted(command.cache_dir.string()), quoted(command.results_dir.string()));
}

// Runs `command` through the shell; returns its exit status and output (stdout + stderr).
std::pair<int, std::string> run_program(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw RunError("slurm: cannot start '" + command + "'");
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  return line.empty() ? "(no output)" : line;
}

}  // namespace

std::string plan_hash(const std::vector<ExperimentPlan>& plans) {
  Hasher hasher;
  for (const auto& plan : plans)
    for (const auto& cell : plan.cells) {
      const std::uint64_t index = cell.index;
      hasher.update_pod(index).update(cell.id).update("\n").update(cell.config_hash).update("\n");
    }
  return hasher.hex();
}

SlurmJob write_slurm_job(const std::string& experiment, const std::vector<ExperimentPlan>& plans,
                         const SlurmCommand& command, const SlurmOptions& options) {
  validate(options);
  std::vector<std::string> extra_lines;
  for (const auto& extra : options.extra) extra_lines.push_back(sbatch_line(extra));

  SlurmJob job;
  const fs::path experiment_dir = command.results_dir / experiment;
  job.dir = experiment_dir / "slurm";
  job.plan_hash = plan_hash(plans);
  fs::create_directories(job.dir / "logs");
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& plan : plans) {
    write_plan_listing(plan, experiment_dir);  // for `frerec status` before any task starts
    for (const auto& cell : plan.cells) {
      ++job.total_cells;
      const bool done = cell_is_done(experiment_dir / cell.id, cell.config_hash);
      cells.push_back({{"index", cell.index}, {"cell", cell.id}, {"config_hash", cell.config_hash}, {"done", done}});
      if (!done) job.array_cells.push_back(cell.index);
    }
  }
  const fs::path binary = job.dir / "frerec";
  const std::string device = options.gpus_per_cell > 0 ? "cuda" : command.device;
  write_json_atomic(job.dir / "plan.json",
                    {{"experiment", experiment},
                     {"config_file", command.config_file.string()},
                     {"overrides", command.overrides},
                     {"config_hash", job.plan_hash},
                     {"created", iso_time_utc()},
                     {"binary", binary.string()},
                     {"cells", cells},
                     {"array", job.array_cells}});
  job.array_script = job.dir / "array.sbatch";
  job.report_script = job.dir / "report.sbatch";
  job.submit_script = job.dir / "submit.sh";
  if (job.array_cells.empty()) return job;

  // A private copy of the program, renamed into place: tasks of an earlier submission
  // that still run keep the file they started from.
  const fs::path temporary = temporary_path_for(binary);
  fs::copy_file(command.binary, temporary, fs::copy_options::overwrite_existing);
  fs::permissions(temporary, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                 fs::perms::others_read | fs::perms::others_exec);
  commit_atomic(temporary, binary);

  const fs::path workdir = fs::current_path();
  const std::string logs = (job.dir / "logs").string();
  std::string run_line = global_options(command, binary, options.cpus_per_cell, device) + " run " +
                         quoted(command.config_file.string());
  for (const auto& override_text : command.overrides) run_line += " " + quoted(override_text);
  run_line += " --cell \"$cell\" --frozen-plan " + quoted((job.dir / "plan.json").string());

  std::string cell_list;
  for (const std::size_t index : job.array_cells) cell_list += (cell_list.empty() ? "" : " ") + std::to_string(index);
  std::string array = fmt::format("#!/bin/bash\n# frerec slurm: {} of {} cells of '{}', plan {} ({}).\n",
                                  job.array_cells.size(), job.total_cells, experiment, job.plan_hash.substr(0, 12),
                                  iso_time_utc());
  array += fmt::format("#SBATCH --job-name=frerec-{}\n", experiment);
  array += fmt::format("#SBATCH --array=0-{}{}\n", job.array_cells.size() - 1,
                       options.max_parallel > 0 ? fmt::format("%{}", options.max_parallel) : std::string());
  array += fmt::format("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task={}\n", options.cpus_per_cell);
  if (options.gpus_per_cell > 0) array += fmt::format("#SBATCH --gres=gpu:{}\n", options.gpus_per_cell);
  if (!options.mem.empty()) array += "#SBATCH --mem=" + options.mem + "\n";
  array += common_lines(options, workdir);
  array += fmt::format("#SBATCH --output={}/array_%A_%a.out\n", logs);
  for (const auto& line : extra_lines) array += line + "\n";
  array += "set -euo pipefail\n";
  array += "# Array task i runs cell cells[i] of the frozen plan (plan.json).\n";
  array += "cells=(" + cell_list + ")\n";
  array += "cell=${cells[$SLURM_ARRAY_TASK_ID]}\n";
  array += fmt::format("exec >>{}/cell_\"$cell\".out 2>>{}/cell_\"$cell\".err\n", quoted(logs), quoted(logs));
  array += "echo \"== $(date -u +%Y-%m-%dT%H:%M:%SZ) job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on "
           "$(hostname): cell $cell\"\n";
  array += "exec " + run_line + "\n";
  write_file_atomic(job.array_script, array);

  std::string report = fmt::format("#!/bin/bash\n# frerec slurm: the reports of '{}' once the array job ends.\n",
                                   experiment);
  report += fmt::format("#SBATCH --job-name=frerec-{}-report\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n",
                        experiment);
  report += common_lines(options, workdir);
  report += fmt::format("#SBATCH --output={}/report_%j.out\n", logs);
  for (const auto& line : extra_lines) report += line + "\n";
  report += "set -euo pipefail\n";
  report += "exec " + global_options(command, binary, 1, "cpu") + " report " + quoted(experiment_dir.string()) + "\n";
  write_file_atomic(job.report_script, report);

  write_file_atomic(job.submit_script,
                    fmt::format("#!/bin/bash\n# Submits the array job, then the report job that waits for it.\n"
                                "set -euo pipefail\n"
                                "array=$(sbatch --parsable {})\n"
                                "report=$(sbatch --parsable --dependency=afterany:${{array%%;*}} {})\n"
                                "echo \"array job ${{array%%;*}}, report job ${{report%%;*}}\"\n",
                                quoted(job.array_script.string()), quoted(job.report_script.string())));
  fs::permissions(job.submit_script, fs::perms::owner_exec, fs::perm_options::add);
  return job;
}

std::string parse_sbatch_job_id(const std::string& output) {
  std::string text = output;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  // --parsable prints "<id>" or "<id>;<cluster>" as its last line.
  const auto line_start = text.rfind('\n');
  std::string line = line_start == std::string::npos ? text : text.substr(line_start + 1);
  line = line.substr(0, line.find(';'));
  if (line.empty() || !std::all_of(line.begin(), line.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw ConfigError("slurm: sbatch printed no job id: " + first_line(output));
  return line;
}

std::pair<std::string, std::string> submit_slurm_job(const SlurmJob& job) {
  if (job.array_cells.empty()) throw InternalError("slurm: no array to submit");
  auto submit = [](const std::string& arguments) {
    const auto [code, output] = run_program("sbatch --parsable " + arguments);
    if (code != 0) throw RunError(fmt::format("slurm: sbatch failed (exit {}): {}", code, first_line(output)));
    return parse_sbatch_job_id(output);
  };
  const std::string array = submit(quoted(job.array_script.string()));
  const std::string report = submit("--dependency=afterany:" + array + " " + quoted(job.report_script.string()));
  return {array, report};
}

void check_frozen_plan(const fs::path& frozen_plan_file, const std::vector<ExperimentPlan>& plans) {
  const auto frozen = read_json_file(frozen_plan_file);
  if (!frozen || !frozen->is_object() || !frozen->value("config_hash", nlohmann::json()).is_string())
    throw ConfigError("run: --frozen-plan '" + frozen_plan_file.string() +
                      "' is not a plan written by `frerec slurm` (missing or unreadable)");
  const std::string expected = (*frozen)["config_hash"];
  const std::string actual = plan_hash(plans);
  if (expected != actual)
    throw ConfigError(fmt::format(
        "run: the config changed after `frerec slurm` froze the plan: {} has config hash {}, the config now gives {}; "
        "run `frerec slurm` again to write a job for the new plan",
        frozen_plan_file.string(), expected, actual));
}

}  // namespace frerec
