// Training the class-conditional GAN (gan.h) on a task's real training images.
//
// Recipe (FastGAN / DiffAugment defaults where they apply):
//   hinge loss (or non-saturating), Adam lr 2e-4 β (0.5, 0.999) for G and D, one D step and
//   one G step per iteration, batch 16 with class labels of the real batch reused for the
//   fakes, DiffAugment color,translation,cutout on everything D sees (D and G steps),
//   spectral norm in D, EMA of G's parameters with decay min(ema_decay, (1+t)/(10+t)).
//   The D step runs real and fake images through D as one concatenated batch (two passes
//   when batch_size is not a multiple of the minibatch-stddev group, so groups never mix
//   real and fake images).
// Outputs under out_dir:
//   state.pt                 full training state (G, D, EMA G, both Adam states, step,
//                            fingerprint, the log), atomic, every checkpoint_every steps and
//                            at the end; a torch pickle (torch.load reads it)
//   samples/step_NNNNNNN.png grids of the EMA G and of the raw G (its own running BN
//                            statistics; fixed latents, grid_per_class per class), every
//                            sample_every steps and at the end
//   train_log.jsonl          every log_every steps: step, d_loss, g_loss, d_real, d_fake
//                            (mean logits), real_std / fake_std (per-pixel std over the
//                            batch, averaged: a collapse indicator), real_pair_distance /
//                            fake_pair_distance (the diversity term's distances; 0 when
//                            it is off), class_loss (the class critic's cross-entropy on
//                            G's images), seconds, steps_per_second
//   generator.safetensors    the EMA generator with standing BatchNorm statistics and the
//                            metadata of sampler.h (what `frerec generator sample` and the
//                            `gan` dataset source read)
// Resume (the default): a state.pt whose fingerprint (architecture, every option that
//   changes the numbers except `steps`, the data fingerprint) matches continues from its
//   step; raising `steps` continues a finished run. A mismatch is a RunError that names
//   the folder and suggests --fresh. Every random draw of step t comes from LibTorch's
//   global generator reseeded with derive_seed(seed, {t}), so no RNG state is stored and a
//   resumed run equals an uninterrupted one on CPU with the same thread count.
// BatchNorm at sampling time: the EMA generator's running statistics are recomputed before
//   every grid and before export as the average over bn_stats_batches × bn_stats_batch
//   generated images ("standing statistics", Brock et al. 2019), so sampling is in eval mode
//   and an image does not depend on the other images of its batch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "framework/config/schema.h"
#include "framework/core/context.h"
#include "framework/core/image.h"

namespace frerec::generators {

// The `generator` section of a `frerec generator train` config (also `frerec info
// generators fastgan_lite`).
config::Schema generator_schema();

struct GanTrainOptions {
  // Architecture (image size and channels come from the data).
  int z_dim = 64;
  int embed_dim = 32;
  int g_width = 8;
  int g_max_width = 128;
  int d_width = 32;
  int d_max_width = 256;
  int d_mbstd_group = 4;
  int g_noise = 1;
  int g_zmod = 1;
  // Optimisation.
  long steps = 1800;
  int batch_size = 16;
  double lr_g = 2e-4;
  double lr_d = 2e-4;
  double beta1 = 0.5;
  double beta2 = 0.999;
  std::string loss = "hinge";  // hinge | nonsaturating
  double ema_decay = 0.995;
  double diversity = 10.0;
  double class_weight = 1.0;  // the class critic's loss in G's objective (gan.h)
  long critic_steps = 800;
  std::string diff_augment = "translation";
  std::uint64_t seed = 0;
  // Outputs.
  long sample_every = 300;
  long checkpoint_every = 300;
  long log_every = 50;
  int grid_per_class = 8;
  int bn_stats_batches = 8;
  int bn_stats_batch = 64;

  void validate() const;              // ConfigError naming generator.<key>
  std::string fingerprint() const;    // every key that changes the numbers, except steps
  std::string canonical() const;      // every key (JSON), recorded in the generator file
};
GanTrainOptions gan_options_from(const config::Params& generator_section);

struct GanTrainData {
  std::vector<Image> images;  // real training images in [0,1], all [C,S,S]
  std::vector<int> labels;    // 0 .. num_classes-1
  int num_classes = 2;
  std::vector<std::string> class_names{"negative", "positive"};
  std::string task;               // data.name
  std::string data_section_yaml;  // recorded in the generator file
  std::string command_line;       // recorded in the generator file
};

struct GanTrainResult {
  long steps = 0;            // completed in total
  long steps_this_run = 0;
  bool resumed = false;
  double seconds = 0;        // this run
  double steps_per_second = 0;
  std::filesystem::path generator_file;
  std::string data_fingerprint;
  double critic_accuracy = 0;  // the class critic's accuracy on the (unaugmented) training images
};

// Trains (or resumes) into out_dir and exports generator.safetensors. `fresh` deletes
// state.pt, samples/ and train_log.jsonl first. `max_steps_this_run` > 0 stops after that
// many steps of this run (state saved, no export unless the run is finished).
GanTrainResult train_gan(const GanTrainOptions& options, const GanTrainData& data,
                         const std::filesystem::path& out_dir, const RunContext& context, bool fresh,
                         long max_steps_this_run = 0);

// SHA-256 over the images' float data, shapes and labels.
std::string training_data_fingerprint(const std::vector<Image>& images, const std::vector<int>& labels);

}  // namespace frerec::generators
