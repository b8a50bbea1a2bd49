// Operator-level profile of the FreRec DAE (LibTorch's legacy autograd profiler, chrome-trace
// JSON): where a training step or an inference batch spends its time. Usage:
//   dae_profile OUT.json|- [train|infer] [channels] [side] [batch] [iterations] [threads]
//   dae_profile OUT.bin dump [channels] [side] [batch]   (eval output + gradients, raw float32)
// DAE_NETWORK='{dim: 8}' overrides keys of cpu_dae_options(). Aggregate with bench/restoration/profile_summary.py OUT.json.
#include <ATen/ATen.h>
#include <yaml-cpp/yaml.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "augmentations/frerec/rhm_loss.h"
#include "models/restoration/restormer.h"

int main(int argc, char** argv) {
  using namespace frerec::restoration;
  if (argc < 2) {
    std::fprintf(stderr, "usage: dae_profile OUT.json [train|infer] [channels] [side] [batch] [iterations] [threads]\n");
    return 2;
  }
  const std::string out = argv[1];
  const std::string mode = argc > 2 ? argv[2] : "train";
  const int channels = argc > 3 ? std::atoi(argv[3]) : 1;
  const int side = argc > 4 ? std::atoi(argv[4]) : 64;
  const int batch = argc > 5 ? std::atoi(argv[5]) : 1;
  const int iterations = argc > 6 ? std::atoi(argv[6]) : 10;
  torch::set_num_threads(argc > 7 ? std::atoi(argv[7]) : 1);
  // DAE_NETWORK (YAML map) overrides keys of the CPU config, e.g. '{dim: 8, num_blocks: [1,1,1,1]}'.
  YAML::Node network = YAML::Load(cpu_dae_options().to_yaml());
  if (const char* env = std::getenv("DAE_NETWORK"))
    for (const auto& kv : YAML::Load(env)) network[kv.first.as<std::string>()] = kv.second;
  network["in_channels"] = network["out_channels"] = channels;
  RestormerOptions options = RestormerOptions::from_yaml(YAML::Dump(network));
  std::printf("network %s, %lld parameters\n", options.to_yaml().c_str(), static_cast<long long>(count_parameters(Restormer(options))));
  Restormer net(options);
  initialize_parameters(*net, 0);
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(3e-4).weight_decay(1e-4));
  auto x = at::rand({batch, channels, side, side}), target = at::rand({batch, channels, side, side});
  auto run = [&] {
    if (mode == "train") {
      net->train();
      optimizer.zero_grad();
      frerec::rhm::reconstruction_loss(net->forward(x), target, 1.0, frerec::rhm::SpectralLoss::kAmplitude).total.backward();
      optimizer.step();
    } else {
      torch::NoGradGuard no_grad;
      net->eval();
      net->forward(x);
    }
  };
  if (mode == "dump") {  // forward output (eval) and parameter gradients (train) as raw float32, for before/after checks
    auto dump = at::empty({0});
    {
      torch::NoGradGuard no_grad;
      net->eval();
      dump = net->forward(x).flatten();
    }
    net->train();
    frerec::rhm::reconstruction_loss(net->forward(x), target, 1.0, frerec::rhm::SpectralLoss::kAmplitude).total.backward();
    std::vector<at::Tensor> parts{dump};
    for (const auto& p : net->parameters()) parts.push_back(p.grad().flatten());
    auto all = at::cat(parts).contiguous();
    std::FILE* f = std::fopen(out.c_str(), "wb");
    std::fwrite(all.data_ptr<float>(), sizeof(float), static_cast<size_t>(all.numel()), f);
    std::fclose(f);
    std::printf("dumped %lld floats (%lld output)\n", static_cast<long long>(all.numel()), static_cast<long long>(dump.numel()));
    return 0;
  }
  for (int i = 0; i < 3; ++i) run();  // warm-up (polar grids, allocator)
  const auto start = std::chrono::steady_clock::now();
  if (out == "-") {  // plain timing, no profiler
    for (int i = 0; i < iterations; ++i) run();
  } else {
    torch::autograd::profiler::RecordProfile guard(out);
    for (int i = 0; i < iterations; ++i) run();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s C=%d %dx%d batch %d: %.2f ms per iteration (%d iterations)\n", mode.c_str(), channels,
              side, side, batch, 1e3 * seconds / iterations, iterations);
  return 0;
}
