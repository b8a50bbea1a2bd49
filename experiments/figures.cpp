// The figures cell (experiment kind "figures"): the paper's Fig. 1, Fig. 6 and Fig. 7 for one
// dataset, with numbers that do not depend on the pictures.
//
//   Fig. 1  mean log-amplitude spectra (centred) of the real training images and of the
//           synthetic pool, and their difference;
//   Fig. 6  1-D spectral profiles (Durall et al.) of real, synthetic and calibrated synthetic
//           images — the spectral gap (high band, framework/spectral/spectrum.h) before/after;
//   Fig. 7  t-SNE of classifier features: the cell's `model` is trained on
//           `extractor_fraction` (80%) of the real training images (stratified, seeded),
//           its head removed; features of the other 20% and of the same number of randomly
//           chosen synthetic images are embedded with exact t-SNE before and after the
//           calibration of `method.name` (a FreRec variant, default gda_frerec). Real orange,
//           synthetic blue. Beside each embedding: the cross-validated AUC of a logistic
//           real-vs-synthetic probe on the features, the domain Fréchet distance and
//           precision/recall (Kynkäänniemi, k = 3) — in the feature space of that
//           extractor, whose name is reported with the numbers (REFERENCE.md: there is no
//           Inception network here; a domain extractor trained in the framework replaces it).
//
// Decisions where the paper is silent:
//   * "After" compares calibrated synthetic features with the uncalibrated real held-out
//     features (the extractor saw uncalibrated real images), so the numbers measure how far
//     calibration moves synthetic images toward real ones. The calibrated images are the
//     same cached artifacts the Table 2 cell trains on.
//   * The synthetic subset is drawn once (seeded) and used before and after, so the two
//     sides differ only by the calibration. At most `points_per_set` points per side.
//
// Everything a figure needs is stored in the cell's figure_data.json; the report builder
// renders figures/fig{1,6,7}_*.{png,svg} and figures.{md,csv,tex} from the records alone.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "augmentations/sources.h"
#include "datasets/dataset.h"
#include "experiments/classifier_training.h"
#include "augmentations/frerec/pipeline.h"
#include "experiments/reports.h"
#include "framework/analysis/analysis.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/random.h"
#include "framework/metrics/metrics.h"
#include "framework/report/figure.h"
#include "framework/report/table.h"
#include "framework/runner/experiment.h"
#include "framework/runner/record.h"
#include "framework/spectral/spectrum.h"

namespace frerec::experiments {
namespace fs = std::filesystem;

namespace {

config::Schema figures_schema() {
  config::Schema tsne;
  tsne.add_float("perplexity", 30.0, "t-SNE perplexity", 2.0, 1000.0);
  tsne.add_int("iterations", 1000, "t-SNE gradient-descent iterations (the first 250 with early exaggeration 12)", 300, 100000);
  config::Schema schema;
  schema.add_float("extractor_fraction", 0.8, "share of the real training images the feature extractor is trained on",
                   0.1, 0.95);
  schema.add_int("points_per_set", 1000, "at most this many real (held-out) and synthetic points in t-SNE and metrics",
                 10, 2500);
  schema.add_map("tsne", tsne, "exact t-SNE (framework/analysis)");
  schema.add_int("probe_folds", 5, "folds of the cross-validated logistic real-vs-synthetic probe", 2, 20);
  schema.add_float("probe_c", 1.0, "inverse L2 strength C of the probe (sklearn convention)", 1e-6, 1e6);
  schema.add_int("pr_k", 3, "k of the precision/recall manifolds (Kynkäänniemi et al.)", 1, 50);
  return schema;
}

std::vector<double> embedding_column(const analysis::Matrix& m, std::size_t first, std::size_t count, std::size_t column) {
  std::vector<double> out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = m(first + i, column);
  return out;
}

struct SideMetrics {
  analysis::TsneResult tsne;
  analysis::ProbeResult probe;
  double frechet = 0;
  analysis::PrecisionRecall pr;
};

SideMetrics compare(const analysis::Matrix& real, const analysis::Matrix& synthetic, const config::Params& settings,
                    std::uint64_t seed, int threads, const std::string& what) {
  SideMetrics m;
  analysis::TsneOptions tsne;
  tsne.perplexity = settings.sub("tsne").get<double>("perplexity");
  tsne.iterations = settings.sub("tsne").get<int>("iterations");
  tsne.seed = seed;
  tsne.threads = threads;
  const double max_perplexity = (static_cast<double>(real.rows + synthetic.rows) - 1.0) / 3.0;
  if (tsne.perplexity > max_perplexity) tsne.perplexity = std::max(2.0, max_perplexity);
  tsne.progress = [&](int iteration, double kl) { spdlog::debug("t-SNE {}: iteration {}, KL {:.4f}", what, iteration, kl); };
  m.tsne = analysis::tsne(analysis::vstack(real, synthetic), tsne);
  analysis::ProbeOptions probe;
  probe.folds = settings.get<int>("probe_folds");
  probe.c = settings.get<double>("probe_c");
  probe.seed = seed;
  m.probe = analysis::logistic_probe(real, synthetic, probe);
  m.frechet = analysis::frechet_distance(real, synthetic);
  m.pr = analysis::precision_recall(real, synthetic, settings.get<int>("pr_k"));
  return m;
}

nlohmann::json points_json(const analysis::Matrix& embedding, std::size_t real_count) {
  const std::size_t synthetic_count = embedding.rows - real_count;
  return {{"real", {{"x", embedding_column(embedding, 0, real_count, 0)}, {"y", embedding_column(embedding, 0, real_count, 1)}}},
          {"synthetic",
           {{"x", embedding_column(embedding, real_count, synthetic_count, 0)},
            {"y", embedding_column(embedding, real_count, synthetic_count, 1)}}}};
}

class FiguresExperiment : public CellExperiment {
 public:
  nlohmann::json run(CellContext& context) override {
    const config::Params& cfg = context.config;
    const config::Params settings = cfg.sub("experiment").sub("figures");
    const std::uint64_t seed = static_cast<std::uint64_t>(cfg.get<long>("seed"));
    RunContext& run = context.run;

    const datasets::TaskData task = datasets::load_task(cfg.sub("data"), run);
    if (task.synthetic.empty())
      throw RunError(fmt::format("figures: the task '{}' has no synthetic pool: set data.synthetic (e.g. "
                                 "data.synthetic.name=synthetic_folder data.synthetic.root=DIR)",
                                 task.dataset));
    if (task.real_train.size() < 10)
      throw RunError(fmt::format("figures: '{}' has {} real training images; the extractor split needs at least 10",
                                 task.dataset, task.real_train.size()));
    const config::Params method_section = cfg.sub("method");
    const std::string method = method_section.get<std::string>("name");
    const auto frerec = pipeline::frerec_method_settings(method, method_section.sub(method));
    if (!frerec)
      throw ConfigError(fmt::format("figures: method.name '{}' is not a frequency calibration (gda_frerec, gda_shr, "
                                    "gda_rhm, gda_rhm_restormer, gda_shr_restormer)",
                                    method));

    // Spectra (Fig. 1, Fig. 6) on the whole real training set and synthetic pool.
    const std::vector<Image> real = task.real_train.load_all();
    const std::vector<Image> synthetic = task.synthetic.load_all();
    spdlog::info("figures: {} real, {} synthetic images; calibrating with {}", real.size(), synthetic.size(), method);
    const std::vector<Image> calibrated = pipeline::calibrated_synthetic(synthetic, real, *frerec, run);
    const auto profile_real = spectral::mean_azimuthal_profile(real, run.threads);
    const auto profile_synthetic = spectral::mean_azimuthal_profile(synthetic, run.threads);
    const auto profile_calibrated = spectral::mean_azimuthal_profile(calibrated, run.threads);
    const auto gap_before = spectral::spectral_gap(profile_real, profile_synthetic);
    const auto gap_after = spectral::spectral_gap(profile_real, profile_calibrated);

    // Fig. 7: the extractor on a stratified share of the real training images.
    random::Xoshiro256 rng(random::mix_seed(seed, random::tag_seed("figures/extractor")));
    std::vector<std::size_t> train_indices, held_indices;
    for (int label = 0; label < 2; ++label) {
      std::vector<std::size_t> of_class;
      for (std::size_t i = 0; i < task.real_train.size(); ++i)
        if (task.real_train.labels()[i] == label) of_class.push_back(i);
      for (std::size_t i = of_class.size(); i > 1; --i) std::swap(of_class[i - 1], of_class[rng.below(i)]);
      const auto n_train = static_cast<std::size_t>(std::lround(settings.get<double>("extractor_fraction") * of_class.size()));
      train_indices.insert(train_indices.end(), of_class.begin(), of_class.begin() + static_cast<long>(n_train));
      held_indices.insert(held_indices.end(), of_class.begin() + static_cast<long>(n_train), of_class.end());
    }
    std::sort(train_indices.begin(), train_indices.end());
    for (std::size_t i = held_indices.size(); i > 1; --i) std::swap(held_indices[i - 1], held_indices[rng.below(i)]);
    const std::size_t n = std::min({held_indices.size(), synthetic.size(),
                                    static_cast<std::size_t>(settings.get<int>("points_per_set"))});
    if (n < 10)
      throw RunError(fmt::format("figures: only {} held-out real images for the feature comparison; use more real "
                                 "training images or a smaller experiment.figures.extractor_fraction",
                                 n));
    held_indices.resize(n);
    std::vector<std::size_t> synthetic_indices(synthetic.size());
    for (std::size_t i = 0; i < synthetic_indices.size(); ++i) synthetic_indices[i] = i;
    for (std::size_t i = synthetic_indices.size(); i > 1; --i)
      std::swap(synthetic_indices[i - 1], synthetic_indices[rng.below(i)]);
    synthetic_indices.resize(n);

    const auto train_source = std::make_shared<augmentations::SubsetSource>(augmentations::source_of(task.real_train),
                                                                            train_indices);
    TrainedClassifier extractor = train_classifier(cfg, real.front().channels, real.front().height, *train_source,
                                                   nullptr, context.dir, run, seed, nullptr, "extractor");
    std::vector<Image> held, raw_subset, calibrated_subset;
    std::vector<int> held_labels;
    for (std::size_t i : held_indices) held.push_back(real[i]), held_labels.push_back(task.real_train.labels()[i]);
    for (std::size_t i : synthetic_indices) raw_subset.push_back(synthetic[i]), calibrated_subset.push_back(calibrated[i]);
    const auto f_real = extract_features(*extractor.classifier, held, run.device);
    const auto f_raw = extract_features(*extractor.classifier, raw_subset, run.device);
    const auto f_calibrated = extract_features(*extractor.classifier, calibrated_subset, run.device);
    // How good the extractor is: its AUC on the held-out real images.
    std::vector<double> scores;
    {
      torch::NoGradGuard no_grad;
      extractor.classifier->eval();
      for (std::size_t r = 0; r < f_real.rows; ++r) {
        torch::Tensor row = torch::from_blob(const_cast<double*>(&f_real.data[r * f_real.cols]),
                                             {1, static_cast<long>(f_real.cols)}, torch::kDouble)
                                .to(torch::kFloat)
                                .to(torch::Device(run.device));
        scores.push_back(torch::softmax(extractor.classifier->head(row), 1)[0][1].item<double>());
      }
    }
    const double extractor_auc = metrics::roc_auc(held_labels, scores);

    const SideMetrics before = compare(f_real, f_raw, settings, seed, run.threads, "before");
    const SideMetrics after = compare(f_real, f_calibrated, settings, seed, run.threads, "after");

    const std::string extractor_name = cfg.sub("model").get<std::string>("name");
    nlohmann::json data = {
        {"dataset", task.dataset},
        {"generator", task.generator},
        {"method", method},
        {"extractor", extractor_name},
        {"feature_dim", f_real.cols},
        {"points_per_side", n},
        {"image_size", {real.front().channels, real.front().height, real.front().width}},
        {"log_spectra",
         {{"height", real.front().height},
          {"width", real.front().width},
          {"real", spectral::mean_log_spectrum(real, run.threads)},
          {"synthetic", spectral::mean_log_spectrum(synthetic, run.threads)},
          {"calibrated", spectral::mean_log_spectrum(calibrated, run.threads)}}},
        {"profiles", {{"real", profile_real}, {"synthetic", profile_synthetic}, {"calibrated", profile_calibrated}}},
        {"tsne", {{"before", points_json(before.tsne.embedding, n)}, {"after", points_json(after.tsne.embedding, n)}}}};
    write_json_atomic(context.dir / "figure_data.json", data);

    nlohmann::json out = {{"extractor", extractor_name},
                          {"extractor_auc", extractor_auc},
                          {"extractor_train_images", train_indices.size()},
                          {"feature_dim", f_real.cols},
                          {"points_per_side", n},
                          {"spectral_gap_before", gap_before.high_band},
                          {"spectral_gap_after", gap_after.high_band}};
    for (const auto& [side, m] : {std::pair<const char*, const SideMetrics&>{"before", before}, {"after", after}}) {
      out[fmt::format("probe_auc_{}", side)] = m.probe.auc;
      out[fmt::format("probe_auc_std_{}", side)] = m.probe.auc_std;
      out[fmt::format("frechet_{}", side)] = m.frechet;
      out[fmt::format("precision_{}", side)] = m.pr.precision;
      out[fmt::format("recall_{}", side)] = m.pr.recall;
      out[fmt::format("tsne_kl_{}", side)] = m.tsne.kl_divergence;
    }
    spdlog::info(
        "figures {}: spectral gap {:.4f} -> {:.4f}; probe AUC {:.3f} -> {:.3f}; Fréchet ({}) {:.3f} -> {:.3f}; "
        "precision {:.3f} -> {:.3f}, recall {:.3f} -> {:.3f}",
        task.dataset, gap_before.high_band, gap_after.high_band, before.probe.auc, after.probe.auc, extractor_name,
        before.frechet, after.frechet, before.pr.precision, after.pr.precision, before.pr.recall, after.pr.recall);
    return out;
  }
};

// ----- report -------------------------------------------------------------------------

std::vector<double> as_vector(const nlohmann::json& j) { return j.get<std::vector<double>>(); }

std::string write_figures(const std::vector<nlohmann::json>& records, const std::vector<nlohmann::json>& left_out,
                          const fs::path& experiment_dir) {
  // One figure row per dataset (the first seed of each); every record in the table.
  std::map<std::string, std::pair<nlohmann::json, nlohmann::json>> first;  // dataset -> (record, data)
  report::Table table;
  table.caption = "Figures: real vs synthetic before / after calibration (features of the named extractor)";
  table.columns = {"Dataset", "Seed", "Extractor (AUC)", "n", "Spectral gap", "Probe AUC", "Fréchet", "Precision", "Recall"};
  for (const auto& record : records) {
    const fs::path data_file = experiment_dir / record.value("cell", "") / "figure_data.json";
    const auto data = read_json_file(data_file);
    if (!data) throw RunError("report: " + data_file.string() + " is missing or unreadable (re-run that cell)");
    const std::string dataset = (*data)["dataset"].get<std::string>();
    if (!first.count(dataset)) first[dataset] = {record, *data};
    const auto& m = record["metrics"];
    auto pair_text = [&](const std::string& key, int precision) {
      return report::TableCell::label(fmt::format("{:.{}f} → {:.{}f}", m.value(key + "_before", std::nan("")), precision,
                                                  m.value(key + "_after", std::nan("")), precision));
    };
    report::TableRow row;
    row.group = dataset;
    row.cells = {report::TableCell::label(dataset),
                 report::TableCell::label(record["coordinates"].contains("seed")
                                              ? record["coordinates"]["seed"].get<std::string>()
                                              : record.value("cell", "").substr(record.value("cell", "").rfind('=') + 1)),
                 report::TableCell::label(fmt::format("{} ({:.3f})", m.value("extractor", ""), m.value("extractor_auc", std::nan("")))),
                 report::TableCell::label(std::to_string(m.value("points_per_side", 0))),
                 pair_text("spectral_gap", 4),
                 pair_text("probe_auc", 3),
                 pair_text("frechet", 2),
                 pair_text("precision", 3),
                 pair_text("recall", 3)};
    table.rows.push_back(row);
  }
  if (first.empty()) return "";
  table.notes.push_back(
      "before → after the calibration of each record's method. Probe AUC: cross-validated logistic regression "
      "real vs synthetic on the extractor's features (0.5 = indistinguishable). Fréchet: domain Fréchet distance "
      "in the same feature space (not FID: no Inception network). Precision/recall: Kynkäänniemi et al., k = 3. "
      "Spectral gap: mean |Δ| of the 1-D spectral profiles over the upper half of radii.");
  if (!left_out.empty()) table.notes.push_back(left_out_note(left_out.size()));
  report::save_table(table, experiment_dir / "figures");

  const report::Rgb orange{1.0, 0.498, 0.055}, blue{0.122, 0.467, 0.706}, green{0.173, 0.627, 0.173};
  report::Figure fig1, fig6, fig7;
  fig1.title = "Fig. 1: mean log-amplitude spectra (centred), real vs synthetic";
  fig1.columns = 3;
  fig6.title = "Fig. 6: spectral profiles";
  fig6.panel_width = 420;
  fig6.columns = static_cast<int>(std::min<std::size_t>(3, first.size()));
  fig7.title = "Fig. 7: t-SNE of extractor features, before / after calibration (real orange, synthetic blue)";
  fig7.panel_width = 420;
  fig7.columns = 2;
  for (const auto& [dataset, pair] : first) {
    const auto& [record, data] = pair;
    const auto& m = record["metrics"];
    const auto& ls = data["log_spectra"];
    const int h = ls["height"].get<int>(), w = ls["width"].get<int>();
    const auto real = as_vector(ls["real"]), synthetic = as_vector(ls["synthetic"]);
    std::vector<double> diff(real.size());
    for (std::size_t i = 0; i < real.size(); ++i) diff[i] = synthetic[i] - real[i];
    const auto [lo, hi] = std::minmax_element(real.begin(), real.end());
    report::Heatmap a{dataset + ": real", h, w, real, *lo, *hi, false, "ln|F|"};
    report::Heatmap b{dataset + ": synthetic (" + data.value("generator", "") + ")", h, w, synthetic, *lo, *hi, false, "ln|F|"};
    report::Heatmap c{dataset + ": synthetic − real", h, w, diff, std::nullopt, std::nullopt, true, "Δ ln|F|"};
    fig1.panels.push_back(a);
    fig1.panels.push_back(b);
    fig1.panels.push_back(c);

    report::LinePlot profiles;
    profiles.title = fmt::format("{} (gap {:.3f} → {:.3f})", dataset, m.value("spectral_gap_before", std::nan("")),
                                 m.value("spectral_gap_after", std::nan("")));
    profiles.x_label = "spatial frequency (radius, px)";
    profiles.y_label = "normalised power (dB)";
    auto series = [&](const char* key, const std::string& label, const report::Rgb& color, bool dashed) {
      report::LineSeries s;
      s.label = label;
      s.y = as_vector(data["profiles"][key]);
      for (std::size_t j = 0; j < s.y.size(); ++j) s.x.push_back(static_cast<double>(j + 1));
      s.color = color;
      s.dashed = dashed;
      return s;
    };
    profiles.series = {series("real", "real", orange, false), series("synthetic", "synthetic", blue, false),
                       series("calibrated", "synthetic + " + data.value("method", ""), green, true)};
    fig6.panels.push_back(profiles);

    for (const char* side : {"before", "after"}) {
      report::ScatterPlot scatter;
      scatter.title = fmt::format("{}, {}: probe AUC {:.2f}, FD {:.3g}", dataset, side,
                                  m.value(fmt::format("probe_auc_{}", side), std::nan("")), m.value(fmt::format("frechet_{}", side), std::nan("")));
      const auto& points = data["tsne"][side];
      scatter.series = {{"real", as_vector(points["real"]["x"]), as_vector(points["real"]["y"]), orange, 2.0},
                        {"synthetic", as_vector(points["synthetic"]["x"]), as_vector(points["synthetic"]["y"]), blue, 2.0}};
      fig7.panels.push_back(scatter);
    }
  }
  const fs::path dir = experiment_dir / "figures";
  report::save_figure(fig1, dir / "fig1_mean_log_spectra");
  report::save_figure(fig6, dir / "fig6_spectral_profiles");
  report::save_figure(fig7, dir / "fig7_tsne");
  std::string written = fmt::format("  {0}/figures.md\n  {0}/figures.csv\n  {0}/figures.tex\n", experiment_dir.string());
  for (const char* stem : {"fig1_mean_log_spectra", "fig6_spectral_profiles", "fig7_tsne"})
    written += fmt::format("  {0}/{1}.png\n  {0}/{1}.svg\n", dir.string(), stem);
  return written;
}

}  // namespace

void register_figures_kind() {
  experiment_registry().add(
      "figures",
      "Fig. 1/6/7 for a dataset: spectra, spectral profiles and t-SNE of extractor features before/after calibration",
      figures_schema(), [](const config::Params&) -> std::unique_ptr<CellExperiment> {
        return std::make_unique<FiguresExperiment>();
      });
  report_builders()["figures"] = write_figures;
}

}  // namespace frerec::experiments
