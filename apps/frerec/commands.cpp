#include "apps/frerec/commands.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <set>

#include "experiments/register.h"
#include "framework/cache/artifact_cache.h"
#include "framework/config/experiment_schema.h"
#include "framework/config/loader.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/progress.h"
#include "framework/core/registry.h"
#include "framework/runner/plan.h"
#include "framework/runner/record.h"
#include "framework/runner/runner.h"
#include "framework/runner/status.h"

namespace frerec::cli {
namespace fs = std::filesystem;

namespace {
// One experiment config, or a suite of them sharing one results folder.
std::vector<ExperimentPlan> load_plans(const std::string& config, const std::vector<std::string>& overrides,
                                       std::string* name) {
  std::vector<ExperimentPlan> plans;
  if (is_suite_file(config)) {
    Suite suite = make_suite(config, overrides);
    *name = suite.name;
    plans = std::move(suite.plans);
  } else {
    plans.push_back(make_plan(config, overrides));
    *name = plans.front().name;
  }
  return plans;
}

// A cell's training length as `run --dry-run` shows it: "N steps" (train.steps) or
// "E epochs"; empty for a cell without a train section.
std::string cell_budget(const YAML::Node& config) {
  const YAML::Node train = config["train"];
  if (!train || !train["steps"] || !train["epochs"]) return "";
  const long steps = train["steps"].as<long>();
  if (steps > 0) return fmt::format("{} step{}", steps, steps == 1 ? "" : "s");
  const int epochs = train["epochs"].as<int>();
  return fmt::format("{} epoch{}", epochs, epochs == 1 ? "" : "s");
}

// One line per part on whether its methods train for the same number of optimiser steps.
std::string budget_summary(const ExperimentPlan& plan) {
  std::set<long> steps;  // of the cells on train.steps, in increasing order
  bool epochs = false, uneven_warmup = false;
  for (const auto& cell : plan.cells) {
    const YAML::Node train = cell.config["train"];
    if (!train || !train["steps"]) continue;
    const long n = train["steps"].as<long>();
    if (n > 0) steps.insert(n);
    epochs = epochs || n == 0;
    const bool warmup_in_epochs = train["warmup_steps"] && train["warmup_steps"].as<long>() == 0 &&
                                  train["warmup_epochs"] && train["warmup_epochs"].as<double>() > 0.0;
    uneven_warmup = uneven_warmup || (n > 0 && warmup_in_epochs);
  }
  // With steps, a warm-up counted in epochs still lasts longer on a larger training set.
  const std::string warmup =
      uneven_warmup ? "; the warm-up (train.warmup_epochs) still follows each training set's size: "
                      "train.warmup_steps makes it equal too"
                    : "";
  if (epochs)
    return "  budget: epochs (train.epochs) pass over each cell's own training set, so a method that adds "
           "synthetic images takes more optimiser steps than RAW; train.steps gives every method the same\n";
  if (steps.size() == 1)
    return fmt::format("  budget: {} steps in every cell (train.steps), whatever its method's training-set size{}\n",
                       *steps.begin(), warmup);
  if (steps.empty()) return "";
  return fmt::format("  budget: train.steps differs between cells ({} steps); at each, every method takes the same{}\n",
                     fmt::join(steps, ", "), warmup);
}
}  // namespace

int run_command(const GlobalOptions& global, const RunArgs& args) {
  experiments::register_all();
  std::string name;
  const std::vector<ExperimentPlan> plans = load_plans(args.config, args.overrides, &name);
  if (!args.frozen_plan.empty()) check_frozen_plan(args.frozen_plan, plans);
  if (args.json && !args.dry_run) throw ConfigError("run: --json lists the plan and goes with --dry-run");
  std::size_t total = 0;
  for (const auto& plan : plans) total += plan.cells.size();
  const fs::path dir = global.results_dir / name;
  if (args.cell && *args.cell >= total)
    throw ConfigError(fmt::format("--cell {}: the {} has {} cells (0..{})", *args.cell,
                                  plans.size() > 1 ? "suite" : "grid", total, total == 0 ? 0 : total - 1));
  std::vector<const YAML::Node*> configs;  // of the cells this call is about
  for (const auto& plan : plans)
    for (const auto& cell : plan.cells)
      if (!args.cell || cell.index == *args.cell) configs.push_back(&cell.config);
  if (args.dry_run && args.json) {
    nlohmann::json cells = nlohmann::json::array();
    std::size_t done_count = 0;
    for (const auto& plan : plans)
      for (const auto& cell : plan.cells) {
        const bool done = cell_is_done(dir / cell.id, cell.config_hash);
        done_count += done ? 1 : 0;
        cells.push_back({{"index", cell.index}, {"cell", cell.id}, {"kind", plan.kind},
                         {"config_hash", cell.config_hash}, {"budget", cell_budget(cell.config)}, {"done", done}});
      }
    std::cout << json_text({{"experiment", name}, {"results_dir", dir.string()}, {"total", total},
                            {"done", done_count}, {"cells", cells}}, 2)
              << "\n";
    return 0;
  }
  if (args.dry_run) {
    if (plans.size() > 1) std::cout << fmt::format("suite '{}': {} cells -> {}\n", name, total, dir.string());
    for (const auto& plan : plans) {
      std::cout << fmt::format("{}experiment '{}' ({}{}): {} cell{} -> {}\n", plans.size() > 1 ? "part: " : "",
                               plan.name, plan.kind,
                               plans.size() > 1 ? ", " + plan.config_file.filename().string() : std::string(),
                               plan.cells.size(), plan.cells.size() == 1 ? "" : "s", dir.string());
      for (const auto& cell : plan.cells) {
        const bool done = cell_is_done(dir / cell.id, cell.config_hash);
        const std::string budget = cell_budget(cell.config);
        std::cout << fmt::format("  [{}] {}{}{}\n", cell.index, cell.id, budget.empty() ? "" : "  " + budget,
                                 done ? "  (done)" : "");
      }
      std::cout << budget_summary(plan);
    }
    // What the datasets hold (the README's "check what was found without training").
    std::cout << experiments::describe_datasets(configs);
    return 0;
  }
  experiments::check_datasets(configs);  // config errors stop the run before any cell
  RunContext run = experiments::configure_runtime(global.threads, global.device, global.cache_dir, global.results_dir);
  run.interactive = stderr_is_terminal() && global.verbosity >= 0;
  ArtifactCache cache(run.cache_dir);
  run.cache = &cache;
  spdlog::info("experiment '{}': {} cells{}, {} threads, device {}", name, total,
               plans.size() > 1 ? fmt::format(" in {} parts", plans.size()) : "", run.threads, run.device);
  RunOptions options;
  options.fresh = args.fresh;
  options.fail_fast = args.fail_fast;
  options.cell = args.cell;
  RunSummary summary;
  for (const auto& plan : plans) {
    if (plan.cells.empty()) continue;
    if (args.cell && (*args.cell < plan.cells.front().index || *args.cell > plan.cells.back().index)) continue;
    const RunSummary part = run_plan(plan, options, run);
    summary.ran += part.ran;
    summary.skipped += part.skipped;
    summary.failed += part.failed;
    summary.running_elsewhere += part.running_elsewhere;
    summary.failed_cells.insert(summary.failed_cells.end(), part.failed_cells.begin(), part.failed_cells.end());
    summary.running_cells.insert(summary.running_cells.end(), part.running_cells.begin(), part.running_cells.end());
    if (args.fail_fast && part.failed > 0) break;
  }
  std::cout << fmt::format("{}: {} ran, {} skipped (done), {}{} failed\n", name, summary.ran, summary.skipped,
                           summary.running_elsewhere > 0
                               ? fmt::format("{} running in another process, ", summary.running_elsewhere)
                               : std::string(),
                           summary.failed);
  for (const auto& running : summary.running_cells) std::cout << "  " << running << "\n";
  for (const auto& failure : summary.failed_cells) std::cerr << "  failed: " << failure << "\n";
  if (!args.cell) {
    const std::string written = experiments::build_reports(dir);
    if (!written.empty()) {
      for (const char* table : {"table2.md", "table3.md"})
        if (global.verbosity >= 0 && std::filesystem::exists(dir / table)) std::cout << "\n" << read_file(dir / table) << "\n";
      std::cout << "reports:\n" << written;
    }
  }
  return summary.failed > 0 ? 1 : 0;
}

int slurm_command(const GlobalOptions& global, const SlurmArgs& args) {
  experiments::register_all();
  std::string name;
  const std::vector<ExperimentPlan> plans = load_plans(args.config, args.overrides, &name);
  std::vector<const YAML::Node*> configs;
  for (const auto& plan : plans)
    for (const auto& cell : plan.cells) configs.push_back(&cell.config);
  experiments::check_datasets(configs);  // a job that cannot find its data is refused here
  SlurmCommand command;
  command.binary = fs::read_symlink("/proc/self/exe");
  command.config_file = fs::absolute(args.config).lexically_normal();
  command.overrides = args.overrides;
  command.results_dir = fs::absolute(global.results_dir).lexically_normal();
  command.cache_dir = fs::absolute(global.cache_dir).lexically_normal();
  command.device = global.device;
  const SlurmJob job = write_slurm_job(name, plans, command, args.options);
  if (job.array_cells.empty()) {
    std::cout << fmt::format("{}: all {} cells are done; nothing to submit (frerec report {} rebuilds the tables)\n",
                             name, job.total_cells, (command.results_dir / name).string());
    return 0;
  }
  std::cout << fmt::format("{}: {} of {} cells to run; plan {} frozen in {}\n", name, job.array_cells.size(),
                           job.total_cells, job.plan_hash.substr(0, 12), (job.dir / "plan.json").string());
  if (!args.submit) {
    std::cout << "submit with:\n  bash " << job.submit_script.string() << "\nwhich runs:\n"
              << "  array=$(sbatch --parsable " << job.array_script.string() << ")\n"
              << "  sbatch --dependency=afterany:${array%%;*} " << job.report_script.string() << "\n";
    return 0;
  }
  const auto [array_id, report_id] = submit_slurm_job(job);
  std::cout << fmt::format("submitted array job {} ({} tasks) and report job {} (afterany:{})\n", array_id,
                           job.array_cells.size(), report_id, array_id);
  return 0;
}

int status_command(const GlobalOptions&, const std::string& experiment_dir, bool json) {
  const ExperimentStatus status = experiment_status(experiment_dir);
  std::cout << (json ? json_text(status.to_json(), 2) + "\n" : status.to_text());
  return 0;
}

int report_command(const GlobalOptions&, const std::string& experiment_dir) {
  experiments::register_all();
  if (!fs::is_directory(experiment_dir))
    throw ConfigError("report: '" + experiment_dir + "' is not a results folder (expected results/<experiment>)");
  const std::string written = experiments::build_reports(experiment_dir);
  std::cout << (written.empty() ? std::string("no finished cells: nothing to report\n") : written);
  return 0;
}

int info_command(const GlobalOptions&, const std::string& kind, const std::string& name,
                 const std::vector<std::string>& overrides) {
  experiments::register_all();
  if (kind == "system") {  // this build and machine (also `frerec --version`)
    std::cout << experiments::system_report();
    return 0;
  }
  const Catalog& catalog = Catalog::instance();
  if (kind.empty()) {
    std::cout << "system:\n  this build (LibTorch, CUDA or CPU only), devices and library versions\n";
    for (const auto& k : catalog.kinds()) {
      std::cout << k << ":\n";
      for (const auto* info : catalog.list(k)) std::cout << fmt::format("  {:<20} {}\n", info->name, info->description);
    }
    return 0;
  }
  if (catalog.list(kind).empty()) {
    const std::string suggestion = config::closest_key(kind, catalog.kinds());
    throw ConfigError(fmt::format("info: unknown kind '{}'{}; known: {}", kind,
                                  suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)",
                                  fmt::join(catalog.kinds(), ", ")));
  }
  if (name.empty()) {
    for (const auto* info : catalog.list(kind)) std::cout << fmt::format("{:<20} {}\n", info->name, info->description);
    return 0;
  }
  const ComponentInfo& info = catalog.require(kind, name, "info");
  std::cout << fmt::format("{} ({}): {}\n", info.name, info.kind, info.description);
  // Keys by their full path in a config (the generator's keys live in `generator:` of a
  // `frerec generator train` config).
  std::string path = config::component_config_path(kind, name);
  if (path.empty()) path = kind == "generators" ? "generator" : info.name;
  YAML::Node settings(YAML::NodeType::Map);
  config::Provenance provenance;
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos) throw ConfigError("info: '" + o + "' must look like key=value (e.g. num_classes=1000)");
    config::set_by_path(settings, o.substr(0, eq), YAML::Load(o.substr(eq + 1)));
    provenance.set(path + "." + o.substr(0, eq), "command line");
  }
  const YAML::Node values = info.schema->validate(settings, path, provenance);
  if (info.details) {
    std::string used;
    for (const auto& item : values)
      if (item.second.IsScalar())
        if (const config::Field* field = info.schema->find(item.first.as<std::string>()))
          used += fmt::format("{}{}={}", used.empty() ? "" : ", ", item.first.as<std::string>(),
                              config::written_value(*field, item.second));
    std::cout << info.details(config::Params(values, info.name)) << (used.empty() ? "" : " (" + used + ")") << "\n";
  }
  const std::string keys = info.schema->describe("  ", path);
  if (!keys.empty()) std::cout << "config keys:\n" << keys;
  return 0;
}

int cache_ls_command(const GlobalOptions& global) {
  ArtifactCache cache(global.cache_dir);
  const auto entries = cache.list();
  if (entries.empty()) {
    std::cout << "cache " << global.cache_dir.string() << " is empty\n";
    return 0;
  }
  std::uintmax_t total = 0;
  for (const auto& e : entries) {
    total += e.bytes;
    const std::string created = read_h5_string_attribute(e.path, "frerec_created");
    std::cout << fmt::format("{:<12} {}  {:>10.1f} MB  {}{}\n", e.kind, e.key, e.bytes / 1e6, created,
                             e.complete ? "" : "  (incomplete)");
  }
  std::cout << fmt::format("{} artifacts, {:.1f} MB in {}\n", entries.size(), total / 1e6, global.cache_dir.string());
  return 0;
}

namespace {
std::chrono::seconds parse_age(const std::string& text) {
  if (text.empty()) return std::chrono::seconds(0);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  const std::string unit(end);
  double scale = 0;
  if (unit == "s") scale = 1;
  else if (unit == "m") scale = 60;
  else if (unit == "h") scale = 3600;
  else if (unit == "d") scale = 86400;
  if (end == text.c_str() || scale == 0 || value < 0)
    throw ConfigError("cache clear --older-than '" + text + "': use a number with s, m, h or d (e.g. 7d)");
  return std::chrono::seconds(static_cast<long long>(value * scale));
}
}  // namespace

int cache_clear_command(const GlobalOptions& global, const std::string& older_than) {
  ArtifactCache cache(global.cache_dir);
  std::size_t in_use = 0;
  const std::size_t removed = cache.clear(parse_age(older_than), &in_use);
  std::cout << fmt::format("removed {} artifact file{} from {}{}\n", removed, removed == 1 ? "" : "s",
                           global.cache_dir.string(),
                           in_use == 0 ? "" : fmt::format(" (kept {} being built by a running job)", in_use));
  return 0;
}

namespace {
RunContext tool_context(const GlobalOptions& global, std::unique_ptr<ArtifactCache>& cache) {
  experiments::register_all();
  RunContext run = experiments::configure_runtime(global.threads, global.device, global.cache_dir, global.results_dir);
  run.interactive = stderr_is_terminal() && global.verbosity >= 0;
  cache = std::make_unique<ArtifactCache>(run.cache_dir);
  run.cache = cache.get();
  return run;
}
}  // namespace

int calibrate_command(const GlobalOptions& global, experiments::CalibrateArgs args) {
  std::unique_ptr<ArtifactCache> cache;
  RunContext run = tool_context(global, cache);
  return experiments::calibrate_command(args, run);
}

int spectra_command(const GlobalOptions& global, const experiments::SpectraArgs& args) {
  std::unique_ptr<ArtifactCache> cache;
  const RunContext run = tool_context(global, cache);
  return experiments::spectra_command(args, run);
}

int image_quality_command(const GlobalOptions& global, const experiments::ImageQualityArgs& args) {
  std::unique_ptr<ArtifactCache> cache;
  const RunContext run = tool_context(global, cache);
  return experiments::image_quality_command(args, run);
}

int generator_train_command(const GlobalOptions& global, experiments::GeneratorTrainArgs args) {
  std::unique_ptr<ArtifactCache> cache;
  const RunContext run = tool_context(global, cache);
  return experiments::generator_train_command(args, run);
}

int generator_sample_command(const GlobalOptions& global, const experiments::GeneratorSampleArgs& args) {
  std::unique_ptr<ArtifactCache> cache;
  const RunContext run = tool_context(global, cache);
  return experiments::generator_sample_command(args, run);
}

int datasets_export_command(const GlobalOptions& global, const std::string& name, const std::filesystem::path& out,
                            const std::vector<std::string>& overrides) {
  std::unique_ptr<ArtifactCache> cache;
  const RunContext run = tool_context(global, cache);
  return experiments::export_command(name, out, overrides, run);
}

}  // namespace frerec::cli
