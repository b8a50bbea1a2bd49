#include "experiments/generator_commands.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <optional>
#include <set>

#include "datasets/dataset.h"
#include "framework/config/interpolation.h"
#include "framework/config/loader.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/io/image_io.h"
#include "framework/runner/record.h"
#include "models/generators/gan_trainer.h"
#include "models/generators/sample_grid.h"
#include "models/generators/sampler.h"

namespace frerec::experiments {
namespace fs = std::filesystem;
using generators::gan_options_from;
using generators::GanTrainData;
using generators::GanTrainOptions;
using generators::GanTrainResult;
using generators::generator_schema;
using generators::GeneratorInfo;
using generators::GeneratorSampler;
using generators::GridRow;
using generators::resolve_generator_checkpoint;
using generators::train_gan;
using generators::write_image_grid;

namespace {

const std::vector<std::string> kClassNames{"negative", "positive"};

std::string class_folder(int label) {
  return label < static_cast<int>(kClassNames.size()) ? kClassNames[static_cast<std::size_t>(label)]
                                                       : "class" + std::to_string(label);
}

config::Schema train_config_schema() {
  config::Schema schema;
  schema.add_map("data", datasets::data_schema_with_loaders(), "the task whose real training split the GAN learns");
  schema.add_map("generator", generator_schema(), "GAN architecture and training (frerec info generators fastgan_lite)");
  schema.add_optional("out", config::Type::kString, "output folder (default <results-dir>/generators/<data.name>)");
  return schema;
}

// Real training images and labels of the task, loaded through the image cache.
datasets::TaskData load_real_task(const YAML::Node& data_node, const RunContext& context) {
  YAML::Node node = YAML::Clone(data_node);
  if (node["synthetic"] && node["synthetic"]["name"] && node["synthetic"]["name"].as<std::string>() != "none")
    spdlog::info("generator: data.synthetic ({}) is ignored: the GAN learns the real training split only",
                 node["synthetic"]["name"].as<std::string>());
  node["synthetic"] = YAML::Node(YAML::NodeType::Map);
  node["synthetic"]["name"] = "none";
  const config::Params data = datasets::validate_data_section(node, "data");
  return datasets::load_task(data, context);
}

}  // namespace

int generator_train_command(const GeneratorTrainArgs& args, const RunContext& context) {
  if (!fs::is_regular_file(args.config))
    throw ConfigError("generator train: config '" + args.config.string() + "' does not exist");
  const config::LoadedConfig loaded = config::load_config(args.config, args.overrides);
  if (!loaded.sweeps.empty())
    throw ConfigError("generator train: '" + loaded.sweeps.front().key + "' is a sweep (" + loaded.sweeps.front().where +
                      "); train one generator per command");
  YAML::Node merged = loaded.root;
  config::resolve_interpolations(merged, loaded.provenance);
  const YAML::Node resolved = train_config_schema().validate(merged, "", loaded.provenance);
  // The data section exactly as training uses it (synthetic pool off), for the record.
  YAML::Node data_node = YAML::Clone(resolved["data"]);
  data_node["synthetic"] = YAML::Node(YAML::NodeType::Map);
  data_node["synthetic"]["name"] = "none";
  const GanTrainOptions options = gan_options_from(config::Params(resolved["generator"], "generator"));
  const std::string task_name = data_node["name"].as<std::string>();

  fs::path out = args.out;
  if (out.empty() && resolved["out"] && !resolved["out"].IsNull()) out = resolved["out"].as<std::string>();
  if (out.empty()) out = context.results_dir / "generators" / task_name;
  fs::create_directories(out);
  write_file_atomic(out / "config.yaml", config::to_yaml(resolved));

  const datasets::TaskData task = load_real_task(data_node, context);
  GanTrainData data;
  data.images = task.real_train.load_all();
  data.labels = task.real_train.labels();
  data.num_classes = 2;
  data.class_names = kClassNames;
  data.task = task_name;
  data.data_section_yaml = config::to_yaml(data_node);
  data.command_line = args.command_line;
  for (int label = 0; label < 2; ++label)
    if (task.real_train.count(label) == 0)
      throw ConfigError(fmt::format("generator train: the real training split of '{}' has no {} images; the "
                                    "class-conditional GAN needs both classes (check data.counts.train)",
                                    task_name, class_folder(label)));

  const GanTrainResult result = train_gan(options, data, out, context, args.fresh, args.max_steps_this_run);
  if (result.generator_file.empty()) {
    std::cout << fmt::format("generator {}: {} of {} steps done ({} this run, {:.2f} steps/s); run again to continue\n",
                             task_name, result.steps, options.steps, result.steps_this_run, result.steps_per_second);
    return 0;
  }
  std::cout << fmt::format("generator {}: {} steps ({} this run, {:.1f} s, {:.2f} steps/s) -> {}\n", task_name,
                           result.steps, result.steps_this_run, result.seconds, result.steps_per_second,
                           result.generator_file.string());
  std::cout << fmt::format("sample it: frerec generator sample --checkpoint {} --per-class 750 --out DIR\n",
                           result.generator_file.string());
  return 0;
}

int generator_sample_command(const GeneratorSampleArgs& args, const RunContext& context) {
  if (args.per_class < 1) throw ConfigError("generator sample: --per-class " + std::to_string(args.per_class) + " must be >= 1");
  if (args.out.empty() && args.grid.empty()) throw ConfigError("generator sample: give --out DIR and/or --grid FILE.png");
  if (args.grid_per_class < 1)
    throw ConfigError(fmt::format("generator sample: --grid-per-class {} must be >= 1", args.grid_per_class));
  if (args.with_real && args.grid.empty()) throw ConfigError("generator sample: --with-real needs --grid FILE.png");
  const fs::path checkpoint = resolve_generator_checkpoint(args.checkpoint, "", "--checkpoint");
  const auto t0 = std::chrono::steady_clock::now();
  const GeneratorSampler sampler(checkpoint, args.batch);
  const GeneratorInfo& info = sampler.info();
  spdlog::info("generator: {} ({})", checkpoint.string(), info.describe());

  std::vector<long> indices(static_cast<std::size_t>(args.per_class));
  for (long i = 0; i < args.per_class; ++i) indices[static_cast<std::size_t>(i)] = i;

  if (!args.out.empty()) {
    const fs::path record = args.out / "generator.json";
    std::error_code ec;
    std::vector<std::string> previous;
    if (fs::exists(record, ec)) {
      const auto json = nlohmann::json::parse(read_file(record), nullptr, false);
      if (json.is_object() && json.contains("files")) previous = json.at("files").get<std::vector<std::string>>();
    } else if (fs::is_directory(args.out, ec)) {
      for (int label = 0; label < info.num_classes; ++label)
        if (fs::is_directory(args.out / class_folder(label), ec) && !io::list_images(args.out / class_folder(label)).empty())
          throw ConfigError("generator sample: --out '" + args.out.string() + "' already holds images in " +
                            class_folder(label) + "/ that this command did not write; choose an empty folder");
    }
    std::set<std::string> written;
    for (int label = 0; label < info.num_classes; ++label) {
      const fs::path folder = args.out / class_folder(label);
      fs::create_directories(folder);
      for (long begin = 0; begin < args.per_class; begin += sampler.block()) {
        const long end = std::min(args.per_class, begin + sampler.block());
        const std::vector<long> chunk(indices.begin() + begin, indices.begin() + end);
        const std::vector<Image> images = sampler.generate(args.seed, label, chunk);
        for (std::size_t k = 0; k < images.size(); ++k) {
          const std::string name = class_folder(label) + "/" + fmt::format("{:06d}.png", chunk[k]);
          io::write_png(args.out / name, images[k], 8);
          written.insert(name);
        }
      }
    }
    for (const auto& name : previous)  // images of an earlier, larger run in the same folder
      if (!written.count(name) && name.find("..") == std::string::npos) fs::remove(args.out / name, ec);
    const nlohmann::json summary = {{"checkpoint", fs::absolute(checkpoint).string()},
                                    {"sha256", info.sha256},
                                    {"task", info.task},
                                    {"image_size", info.image_size},
                                    {"channels", info.channels},
                                    {"seed", args.seed},
                                    {"batch", sampler.block()},
                                    {"per_class", args.per_class},
                                    {"files", std::vector<std::string>(written.begin(), written.end())}};
    write_file_atomic(record, json_text(summary, 1) + "\n");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << fmt::format("wrote {} images ({} per class, seed {}) of generator '{}' to {} in {:.1f} s\n",
                             written.size(), args.per_class, args.seed, info.task, args.out.string(), seconds);
  }

  if (!args.grid.empty()) {
    std::vector<GridRow> rows;
    std::optional<datasets::TaskData> real;
    if (args.with_real) {
      const auto section = info.metadata.find("data_section");
      if (section == info.metadata.end() || section->second.empty())
        throw RunError("generator sample: '" + checkpoint.string() + "' records no data section; --with-real needs it");
      real = load_real_task(YAML::Load(section->second), context);
    }
    const long shown = std::min(args.per_class, args.grid_per_class);
    const std::vector<long> grid_indices(indices.begin(), indices.begin() + shown);
    for (int label = 0; label < info.num_classes; ++label) {
      if (real) {
        std::vector<std::size_t> picks;
        for (std::size_t i = 0; i < real->real_train.size() && static_cast<long>(picks.size()) < shown; ++i)
          if (real->real_train.labels()[i] == label) picks.push_back(i);
        rows.push_back({"real " + class_folder(label), real->real_train.read_batch(picks)});
      }
      rows.push_back({"generated " + class_folder(label), sampler.generate(args.seed, label, grid_indices)});
    }
    write_image_grid(args.grid,
                     fmt::format("{}: {}{} steps, seed {}", info.task, args.with_real ? "real training images vs GAN, " : "GAN, ",
                                 info.steps, args.seed),
                     rows);
    std::cout << "wrote " << args.grid.string() << "\n";
  }
  return 0;
}

}  // namespace frerec::experiments
