// frerec: the command-line program. Parses arguments and calls commands.cpp; no logic here.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "apps/frerec/commands.h"
#include "apps/frerec/openmp_env.h"
#include "experiments/register.h"
#include "framework/core/error.h"
#include "framework/core/system_info.h"

namespace {

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

// The first word of the command line that is neither a global option nor its value, when no
// subcommand of `app` has that name; "" otherwise.
std::string unknown_command(CLI::App& app, int argc, char** argv, const std::vector<std::string>& options_with_value) {
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty()) continue;
    if (word[0] == '-') {
      const bool takes_value = std::find(options_with_value.begin(), options_with_value.end(), word) !=
                               options_with_value.end();
      if (takes_value) ++i;  // "--threads 2"; "--threads=2" is one word
      continue;
    }
    for (const CLI::App* sub : app.get_subcommands({}))
      if (sub->get_name() == word) return "";
    return word;
  }
  return "";
}
}  // namespace

int main(int argc, char** argv) {
  using namespace frerec::cli;
  ensure_openmp_wait_policy(argv);
  CLI::App app{"frerec: FreRec-Bench, frequency recalibration for generative data augmentation in medical imaging",
               "frerec"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", [] {
    std::string report = frerec::experiments::system_report();
    if (!report.empty() && report.back() == '\n') report.pop_back();
    return report;
  },
                       "print the version, the LibTorch build (CUDA or CPU only), devices and library versions");
  GlobalOptions global;
  app.add_option("--threads", global.threads, "LibTorch intra-op and FFTW threads (default 0 = all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--device", global.device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--cache-dir", global.cache_dir, "HDF5 artifact cache folder (default: cache)");
  app.add_option("--results-dir", global.results_dir, "results folder (default: results)");
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "more log output");
  app.add_flag("-q,--quiet", quiet, "only warnings and errors");

  RunArgs run_args;
  long long cell_index = 0;
  auto* run = app.add_subcommand("run", "run (or resume) every cell of an experiment config");
  run->add_option("config", run_args.config, "experiment YAML")->required()->check(CLI::ExistingFile);
  run->add_option("overrides", run_args.overrides, "key=value overrides and key=[a,b] sweeps");
  run->add_flag("--dry-run", run_args.dry_run, "list the cells (and which are done) without running");
  auto* cell_option = run->add_option("--cell", cell_index, "run only cell N of the grid (job arrays)");
  run->add_flag("--fresh", run_args.fresh, "ignore finished cells and run everything again");
  run->add_flag("--fail-fast", run_args.fail_fast, "stop at the first failed cell");
  run->add_flag("--json", run_args.json, "with --dry-run: the plan as JSON (cells, indices, which are done)");
  run->add_option("--frozen-plan", run_args.frozen_plan,
                  "refuse to run unless the config still gives the plan frozen in this slurm/plan.json");

  SlurmArgs slurm_args;
  auto* slurm = app.add_subcommand("slurm", "write (and with --submit, submit) a Slurm job array for the cells still to run");
  slurm->add_option("config", slurm_args.config, "experiment YAML")->required()->check(CLI::ExistingFile);
  slurm->add_option("overrides", slurm_args.overrides, "key=value overrides and key=[a,b] sweeps");
  slurm->add_option("--partition", slurm_args.options.partition, "Slurm partition");
  slurm->add_option("--time", slurm_args.options.time, "time limit of each cell (sbatch --time, e.g. 4:00:00)");
  slurm->add_option("--cpus-per-cell", slurm_args.options.cpus_per_cell, "CPU cores per cell (also frerec --threads)");
  slurm->add_option("--gpus-per-cell", slurm_args.options.gpus_per_cell, "GPUs per cell (--gres=gpu:N; runs with --device cuda)");
  slurm->add_option("--mem", slurm_args.options.mem, "memory per cell (sbatch --mem, e.g. 16G)");
  slurm->add_option("--max-parallel", slurm_args.options.max_parallel, "at most K cells at once (array %K)");
  slurm->add_option("--account", slurm_args.options.account, "Slurm account");
  slurm->add_option("--extra", slurm_args.options.extra, "another #SBATCH line, e.g. --extra=--qos=high (repeatable)")
      ->allow_extra_args(false);
  slurm->add_flag("--submit", slurm_args.submit, "call sbatch and print the job ids (default: print the commands)");

  std::string status_dir;
  bool status_json = false;
  auto* status = app.add_subcommand("status", "cells done, failed, running (locked) and pending of results/<experiment>");
  status->add_option("dir", status_dir, "results/<experiment>")->required();
  status->add_flag("--json", status_json, "print JSON");

  std::string report_dir;
  auto* report = app.add_subcommand("report", "rebuild the tables and figures of results/<experiment> from its records");
  report->add_option("dir", report_dir, "results/<experiment>")->required();

  std::string info_kind, info_name;
  auto* info = app.add_subcommand("info", "list registered datasets, methods, models, metrics and experiments");
  info->add_option("kind", info_kind, "e.g. models, or system (this build: LibTorch, CUDA, devices)");
  info->add_option("name", info_name, "e.g. resnet50: prints its description, parameter count and config keys");
  std::vector<std::string> info_overrides;
  info->add_option("settings", info_overrides, "key=value settings for the details, e.g. num_classes=1000");

  auto* cache = app.add_subcommand("cache", "inspect or clear the HDF5 artifact cache");
  cache->require_subcommand(1);
  auto* cache_ls = cache->add_subcommand("ls", "list cached artifacts");
  std::string older_than;
  auto* cache_clear = cache->add_subcommand("clear", "delete cached artifacts");
  cache_clear->add_option("--older-than", older_than, "only those older than this age (e.g. 7d, 12h)");

  frerec::experiments::CalibrateArgs calibrate_args;
  std::string checkpoint_arg;
  auto* calibrate = app.add_subcommand("calibrate", "FreRec: calibrate a generator's output folder (SHR, then RHM)");
  calibrate->add_option("--real", calibrate_args.real, "folder of real images (the reference)")->required();
  calibrate->add_option("--synthetic", calibrate_args.synthetic, "folder of synthetic images to calibrate")->required();
  calibrate->add_option("--out", calibrate_args.out, "output folder (same file names and bit depth)")->required();
  calibrate->add_option("--config", calibrate_args.config, "YAML with shr: (and rhm:) settings");
  calibrate->add_option("--checkpoint", calibrate_args.checkpoint, "trained auto-encoder (trained and saved if absent)");
  calibrate->add_option("--stage", calibrate_args.stage, "shr, rhm or full (default full = SHR then RHM)")
      ->check(CLI::IsMember({"shr", "rhm", "full"}));
  calibrate->add_option("overrides", calibrate_args.overrides, "key=value overrides, e.g. shr.k=100");

  frerec::experiments::SpectraArgs spectra_args;
  auto* spectra = app.add_subcommand("spectra", "mean log spectra and 1-D profiles of real vs synthetic folders");
  spectra->add_option("--real", spectra_args.real, "folder of real images")->required();
  spectra->add_option("--synthetic", spectra_args.synthetic, "folder of synthetic images")->required();
  spectra->add_option("--calibrated", spectra_args.calibrated, "folder of calibrated images (optional)");
  spectra->add_option("--out", spectra_args.out, "output folder for figures and spectra.json")->required();
  spectra->add_option("--size", spectra_args.size, "resize every image to N×N first (default: keep)");
  spectra->add_option("--ratio", spectra_args.ratio, "high band of the spectral gap: radii >= ratio·R_max (0.5)");

  auto* metrics = app.add_subcommand("metrics", "image-quality metrics");
  metrics->require_subcommand(1);
  frerec::experiments::ImageQualityArgs quality_args;
  auto* quality = metrics->add_subcommand("image-quality", "PSNR and SSIM of two images or two folders (matched by name)");
  quality->add_option("--reference", quality_args.reference, "reference image or folder")->required();
  quality->add_option("--test", quality_args.test, "test image or folder")->required();
  quality->add_option("--ssim", quality_args.ssim, "gaussian (Wang et al., default) or uniform (skimage default)")
      ->check(CLI::IsMember({"gaussian", "uniform"}));
  quality->add_flag("--json", quality_args.json, "print JSON");
  quality->add_option("--csv", quality_args.csv, "write per-image values to this CSV");

  auto* datasets = app.add_subcommand("datasets", "work with registered datasets");
  datasets->require_subcommand(1);
  std::string export_name;
  std::filesystem::path export_out;
  std::vector<std::string> export_overrides;
  auto* export_cmd = datasets->add_subcommand("export", "write a dataset's sampled splits as PNG folders + manifest.csv");
  export_cmd->add_option("name", export_name, "registered dataset, e.g. demo_mri")->required();
  export_cmd->add_option("--out", export_out, "output folder")->required();
  export_cmd->add_option("overrides", export_overrides, "data-section keys, e.g. image_size=128 counts.train.positive=50");

  auto* generator = app.add_subcommand("generator", "class-conditional GAN: train on a task's real images, sample a synthetic pool");
  generator->require_subcommand(1);
  frerec::experiments::GeneratorTrainArgs train_args;
  auto* generator_train = generator->add_subcommand("train", "train (or resume) a GAN on a dataset's real training split");
  generator_train->add_option("config", train_args.config, "YAML with data: and generator: sections")->required();
  generator_train->add_option("overrides", train_args.overrides, "key=value overrides, e.g. generator.steps=500");
  generator_train->add_option("--out", train_args.out, "output folder (default: the config's out, else results/generators/<data.name>)");
  generator_train->add_flag("--fresh", train_args.fresh, "discard the saved training state and start over");
  generator_train->add_option("--max-steps", train_args.max_steps_this_run, "stop after N steps of this run (state saved)");
  frerec::experiments::GeneratorSampleArgs sample_args;
  auto* generator_sample = generator->add_subcommand("sample", "write a generator's images as a synthetic_folder and/or a grid");
  generator_sample->add_option("--checkpoint", sample_args.checkpoint, "generator.safetensors, or builtin:<task>")->required();
  generator_sample->add_option("--per-class", sample_args.per_class, "images per class")->required();
  generator_sample->add_option("--out", sample_args.out, "folder for <negative|positive>/NNNNNN.png");
  generator_sample->add_option("--grid", sample_args.grid, "PNG grid of the samples");
  generator_sample->add_flag("--with-real", sample_args.with_real, "add real training images to the grid");
  generator_sample->add_option("--grid-per-class", sample_args.grid_per_class,
                               "images per class in the grid (default 10)");
  generator_sample->add_option("--seed", sample_args.seed, "sampling seed (default 0)");
  generator_sample->add_option("--batch", sample_args.batch, "images per network pass (default 64 = the gan source's)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A first word that names no command gets its own line rather than CLI11's
    // "A subcommand is required".
    const std::string unknown = unknown_command(app, argc, argv, {"--threads", "--device", "--cache-dir", "--results-dir"});
    if (!unknown.empty()) {
      std::string known;
      for (const CLI::App* sub : app.get_subcommands({})) known += (known.empty() ? "" : ", ") + sub->get_name();
      std::cerr << "frerec: error: unknown command '" << unknown << "' (commands: " << known << ")\n";
      return 2;
    }
    std::cerr << "frerec: error: " << one_line(e.what()) << " (see frerec --help)\n";
    return 2;
  }

  std::string command_line = "frerec";
  for (int i = 1; i < argc; ++i) command_line += std::string(" ") + argv[i];
  global.verbosity = quiet ? -1 : (verbose ? 1 : 0);
  // Logs, warnings and errors go to stderr; stdout carries only results (cell listings,
  // summaries, tables, --json), so `frerec ... > out.txt` keeps them apart.
  spdlog::set_default_logger(spdlog::stderr_color_mt("frerec"));
  spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");
  spdlog::set_level(quiet ? spdlog::level::warn : (verbose ? spdlog::level::debug : spdlog::level::info));
  if (cell_option->count() > 0) {
    if (cell_index < 0) {
      std::cerr << "frerec: error: --cell " << cell_index << " is not a cell index: give N >= 0 (see run --dry-run)\n";
      return 2;
    }
    run_args.cell = static_cast<std::size_t>(cell_index);
  }

  try {
    if (run->parsed()) return run_command(global, run_args);
    if (report->parsed()) return report_command(global, report_dir);
    if (slurm->parsed()) return slurm_command(global, slurm_args);
    if (status->parsed()) return status_command(global, status_dir, status_json);
    if (info->parsed()) return info_command(global, info_kind, info_name, info_overrides);
    if (cache_ls->parsed()) return cache_ls_command(global);
    if (cache_clear->parsed()) return cache_clear_command(global, older_than);
    if (calibrate->parsed()) return calibrate_command(global, calibrate_args);
    if (spectra->parsed()) return spectra_command(global, spectra_args);
    if (quality->parsed()) return image_quality_command(global, quality_args);
    if (generator_train->parsed()) {
      train_args.command_line = command_line;
      return generator_train_command(global, train_args);
    }
    if (generator_sample->parsed()) return generator_sample_command(global, sample_args);
    if (export_cmd->parsed()) return datasets_export_command(global, export_name, export_out, export_overrides);
  } catch (const frerec::Error& e) {
    std::cerr << "frerec: error: " << one_line(e.what()) << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "frerec: error: " << one_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
