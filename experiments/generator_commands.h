// `frerec generator train` and `frerec generator sample` (apps/frerec calls these).
//
// train CONFIG [key=value ...] [--out DIR] [--fresh]
//   CONFIG: YAML (with _base_ inheritance) holding `data` (the usual data section: the GAN
//   trains on load_task's real training split; data.synthetic is ignored), `generator`
//   (gan_trainer.h, `frerec info generators fastgan_lite`) and optionally `out` (the output
//   folder; default <results-dir>/generators/<data.name>; --out wins). Writes config.yaml,
//   then trains or resumes (gan_trainer.h) and exports <out>/generator.safetensors.
// sample --checkpoint F --per-class N [--out DIR] [--grid FILE.png [--with-real]
//        [--grid-per-class K]] [--seed S] [--batch B]
//   F: a generator file, or builtin:<task> for a shipped one. --out writes the
//   synthetic_folder layout <DIR>/<negative|positive>/NNNNNN.png (8-bit) with
//   <DIR>/generator.json (checkpoint, SHA-256, seed, batch, counts); image i of class c is
//   the `gan` source's record (seed, c, i) when B is the default 64. --grid draws the first
//   min(N, K) images per class (K = 10); --with-real adds as many real training images above them
//   (the task is re-loaded from the data section recorded in the file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "framework/core/context.h"

namespace frerec::experiments {

struct GeneratorTrainArgs {
  std::filesystem::path config;
  std::vector<std::string> overrides;
  std::filesystem::path out;  // empty: the config's `out`, else <results>/generators/<data.name>
  bool fresh = false;
  long max_steps_this_run = 0;  // > 0: stop after this many steps (state saved)
  std::string command_line;     // recorded in the generator file
};
int generator_train_command(const GeneratorTrainArgs& args, const RunContext& context);

struct GeneratorSampleArgs {
  std::string checkpoint;
  long per_class = 0;
  std::filesystem::path out;
  std::filesystem::path grid;
  bool with_real = false;
  long grid_per_class = 10;  // images per row of --grid (the first of the --per-class ones)
  std::uint64_t seed = 0;
  int batch = 64;
};
int generator_sample_command(const GeneratorSampleArgs& args, const RunContext& context);

}  // namespace frerec::experiments
