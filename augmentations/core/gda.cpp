// GDA mixing and the gda / gda_external methods (gda.h).
#include "augmentations/core/gda.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "augmentations/sources.h"
#include "framework/core/error.h"
#include "framework/core/random.h"

namespace frerec::augmentations {
namespace {

const char* class_name(int label) { return label == 1 ? "positive" : "negative"; }

}  // namespace

SyntheticPool synthetic_pool_of(const datasets::ImageSet& set, const std::string& generator) {
  SyntheticPool pool;
  pool.source = source_of(set);
  pool.labels = set.labels();
  pool.generator = generator;
  return pool;
}

std::vector<std::size_t> subsample_per_class(const std::vector<int>& labels, long per_class, std::uint64_t seed,
                                             const std::string& component) {
  if (per_class < -1)
    throw ConfigError(component + ": synthetic_per_class=" + std::to_string(per_class) + " must be -1 (all) or ≥ 0");
  std::vector<std::size_t> kept;
  if (per_class == -1) {
    kept.resize(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) kept[i] = i;
    return kept;
  }
  const std::set<int> classes(labels.begin(), labels.end());
  for (int label : classes) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == label) members.push_back(i);
    if (static_cast<long>(members.size()) < per_class)
      throw RunError(component + ": synthetic_per_class=" + std::to_string(per_class) + " but the synthetic pool has only " +
                     std::to_string(members.size()) + " " + class_name(label) +
                     " images; lower it, use -1 (all), or raise data.counts.synthetic");
    std::mt19937_64 rng(random::derive_seed(seed, {kGdaSubsampleStream, static_cast<std::uint64_t>(label)}));
    for (std::size_t i = members.size(); i > 1; --i)
      std::swap(members[i - 1], members[random::uniform_index(rng, i)]);
    kept.insert(kept.end(), members.begin(), members.begin() + per_class);
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

TrainingInputs mix_real_and_synthetic(TrainingInputs real, const SyntheticPool& pool, long per_class,
                                      std::uint64_t seed, const std::string& component) {
  FREREC_ASSERT(real.train != nullptr, "mix_real_and_synthetic needs a real training source");
  FREREC_ASSERT(pool.source != nullptr && pool.labels.size() == pool.source->size(),
                "synthetic pool labels must match its source");
  const std::vector<std::size_t> kept = subsample_per_class(pool.labels, per_class, seed, component);
  std::size_t per_label[2] = {0, 0};
  for (std::size_t i : kept)
    if (pool.labels[i] == 0 || pool.labels[i] == 1) ++per_label[pool.labels[i]];
  const std::size_t real_count = real.train->size();
  std::shared_ptr<const train::SampleSource> synthetic =
      kept.size() == pool.source->size() ? pool.source : std::make_shared<SubsetSource>(pool.source, kept);
  TrainingInputs mixed = std::move(real);
  mixed.train = std::make_shared<ConcatSource>(
      std::vector<std::shared_ptr<const train::SampleSource>>{mixed.train, synthetic});
  mixed.record["train_real"] = real_count;
  mixed.record["train_synthetic"] = kept.size();
  mixed.record["train_synthetic_per_class"] = {{"negative", per_label[0]}, {"positive", per_label[1]}};
  mixed.record["synthetic_pool"] = pool.source->size();
  mixed.record["synthetic_per_class"] = per_class;
  mixed.record["synthetic_generator"] = pool.generator;
  spdlog::info("{}: training on {} real + {} synthetic images ({} negative, {} positive) from '{}'", component,
               real_count, kept.size(), per_label[0], per_label[1], pool.generator);
  return mixed;
}

datasets::TaskData load_external_synthetic(const CellData& data) {
  const config::Params& p = data.params;
  const std::string root = p.get<std::string>("root");
  if (root.empty())
    throw ConfigError("gda_external: " + p.full_key("root") + " is empty; name the folder of the generated images");
  const std::string source = p.get<std::string>("source");
  YAML::Node section = YAML::Clone(data.data.node());
  YAML::Node synthetic(YAML::NodeType::Map);
  synthetic["name"] = source;
  synthetic["root"] = root;
  synthetic["generator"] = p.get<std::string>("generator");
  if (p.has("options")) synthetic[source] = YAML::Clone(p.node()["options"]);
  section["synthetic"] = synthetic;
  datasets::TaskData task;
  try {
    task = datasets::load_task(datasets::validate_data_section(section, "data"), data.run);
  } catch (const ConfigError& e) {
    throw ConfigError("gda_external (" + p.full_key("root") + "=" + root + "): " + e.what());
  } catch (const RunError& e) {
    throw RunError("gda_external (" + p.full_key("root") + "=" + root + "): " + e.what());
  }
  const std::set<int> real_classes(data.task.real_train.labels().begin(), data.task.real_train.labels().end());
  for (int label : std::set<int>(task.synthetic.labels().begin(), task.synthetic.labels().end()))
    if (real_classes.count(label) == 0)
      throw ConfigError("gda_external: the synthetic folder '" + root + "' has " + class_name(label) +
                        " images but the real training set of '" + data.task.dataset +
                        "' has no such class; remove them or fix " + p.full_key("options") + ".classes");
  return task;
}

TrainingInputs GdaMethod::prepare(const CellData& data) {
  if (external_) {
    const datasets::TaskData external = load_external_synthetic(data);
    if (external.synthetic.empty())
      throw RunError("gda_external: no synthetic images were sampled from '" + data.params.get<std::string>("root") +
                     "' (check data.counts.synthetic)");
    return mix_real_and_synthetic(Method::prepare(data), synthetic_pool_of(external.synthetic, external.generator),
                                  per_class_, data.seed, "gda_external");
  }
  if (data.task.synthetic.empty())
    throw RunError("gda: the task '" + data.task.dataset +
                   "' has no synthetic pool; set data.synthetic: {name: synthetic_folder, root: <folder of generated "
                   "images>, generator: <name>} (with data.counts.synthetic per class), or use method gda_external");
  return mix_real_and_synthetic(Method::prepare(data), synthetic_pool_of(data.task.synthetic, data.task.generator),
                                per_class_, data.seed, "gda");
}

config::Schema gda_schema() {
  config::Schema schema;
  schema.add_int("synthetic_per_class", -1,
                 "synthetic images kept per class from data.synthetic's pool by a seeded subsample (-1 = all, "
                 "i.e. the data.counts.synthetic of Table 1)",
                 -1);
  return schema;
}

config::Schema gda_external_schema() {
  config::Schema schema = gda_schema();
  schema.add_required("root", config::Type::kString, "folder of the external generator's images (e.g. DoGE samples)");
  schema.add_string("generator", "", "generator name recorded with the results (default: the folder name)");
  schema.add_string("source", "synthetic_folder",
                    "registered dataset source that reads the folder (synthetic_folder: class folders or manifest.csv)");
  schema.add_any("options", "the source's own block, e.g. {classes: {tumor: 1, healthy: 0}} (default: its defaults)");
  return schema;
}

}  // namespace frerec::augmentations
