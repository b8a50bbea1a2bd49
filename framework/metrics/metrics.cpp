#include "framework/metrics/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "framework/core/error.h"
#include "framework/core/random.h"

namespace frerec::metrics {
namespace {

void check_inputs(const std::vector<int>& labels, const std::vector<double>& scores, const char* what) {
  if (labels.size() != scores.size()) {
    throw RunError(fmt::format("metrics: {} got {} labels but {} scores; pass one score per label", what,
                               labels.size(), scores.size()));
  }
  if (labels.empty()) throw RunError(fmt::format("metrics: {} needs at least one sample, got none", what));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1) {
      throw RunError(fmt::format("metrics: {} needs binary labels (0 or 1), got label {} at index {}", what,
                                 labels[i], i));
    }
    if (!std::isfinite(scores[i])) {
      throw RunError(fmt::format("metrics: {} got a non-finite score ({}) at index {}; check the model output",
                                 what, scores[i], i));
    }
  }
}

// AUC by average ranks on already-checked data; returns NaN when a class is missing.
double auc_unchecked(const std::vector<int>& labels, const std::vector<double>& scores) {
  const std::size_t n = scores.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0.0;
  long n_pos = 0;
  std::size_t i = 0;
  while (i < n) {
    std::size_t j = i;
    while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) ++j;
    const double average_rank = 0.5 * (static_cast<double>(i + 1) + static_cast<double>(j + 1));
    for (std::size_t k = i; k <= j; ++k) {
      if (labels[order[k]] == 1) {
        positive_rank_sum += average_rank;
        ++n_pos;
      }
    }
    i = j + 1;
  }
  const long n_neg = static_cast<long>(n) - n_pos;
  if (n_pos == 0 || n_neg == 0) return std::numeric_limits<double>::quiet_NaN();
  const double u = positive_rank_sum - 0.5 * static_cast<double>(n_pos) * static_cast<double>(n_pos + 1);
  return u / (static_cast<double>(n_pos) * static_cast<double>(n_neg));
}

ConfusionMatrix confusion_unchecked(const std::vector<int>& labels, const std::vector<double>& scores,
                                    double threshold) {
  ConfusionMatrix cm;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const bool predicted = scores[i] >= threshold;
    if (labels[i] == 1) {
      (predicted ? cm.tp : cm.fn) += 1;
    } else {
      (predicted ? cm.fp : cm.tn) += 1;
    }
  }
  return cm;
}

Interval make_interval(std::vector<double> values, double confidence, int skipped) {
  Interval interval;
  interval.used = static_cast<int>(values.size());
  interval.skipped = skipped;
  if (values.empty()) {
    interval.low = interval.high = std::numeric_limits<double>::quiet_NaN();
    return interval;
  }
  const double tail = 50.0 * (1.0 - confidence);
  interval.low = percentile(values, tail);
  interval.high = percentile(std::move(values), 100.0 - tail);
  return interval;
}

}  // namespace

double roc_auc(const std::vector<int>& labels, const std::vector<double>& scores) {
  check_inputs(labels, scores, "roc_auc");
  const double auc = auc_unchecked(labels, scores);
  if (std::isnan(auc)) {
    const long n_pos = std::count(labels.begin(), labels.end(), 1);
    throw RunError(fmt::format(
        "metrics: AUC is undefined with a single class (positives={}, negatives={}); the evaluation set "
        "needs both labels",
        n_pos, static_cast<long>(labels.size()) - n_pos));
  }
  return auc;
}

ConfusionMatrix confusion_matrix(const std::vector<int>& labels, const std::vector<double>& scores,
                                 double threshold) {
  check_inputs(labels, scores, "confusion_matrix");
  if (!std::isfinite(threshold)) {
    throw RunError(fmt::format("metrics: threshold={} must be a finite number", threshold));
  }
  return confusion_unchecked(labels, scores, threshold);
}

double accuracy(const ConfusionMatrix& cm) {
  const long total = cm.total();
  return total == 0 ? 0.0 : static_cast<double>(cm.tp + cm.tn) / static_cast<double>(total);
}

double f1_positive(const ConfusionMatrix& cm) {
  const long denominator = 2 * cm.tp + cm.fp + cm.fn;
  return denominator == 0 ? 0.0 : 2.0 * static_cast<double>(cm.tp) / static_cast<double>(denominator);
}

double precision_positive(const ConfusionMatrix& cm) {
  const long denominator = cm.tp + cm.fp;
  return denominator == 0 ? 0.0 : static_cast<double>(cm.tp) / static_cast<double>(denominator);
}

double recall_positive(const ConfusionMatrix& cm) {
  const long denominator = cm.tp + cm.fn;
  return denominator == 0 ? 0.0 : static_cast<double>(cm.tp) / static_cast<double>(denominator);
}

BinaryMetrics evaluate_binary(const std::vector<int>& labels, const std::vector<double>& scores,
                              double threshold) {
  BinaryMetrics result;
  result.auc = roc_auc(labels, scores);
  result.confusion = confusion_matrix(labels, scores, threshold);
  result.threshold = threshold;
  result.accuracy = accuracy(result.confusion);
  result.f1 = f1_positive(result.confusion);
  result.precision = precision_positive(result.confusion);
  result.recall = recall_positive(result.confusion);
  return result;
}

double percentile(std::vector<double> values, double q) {
  FREREC_ASSERT(!values.empty(), "percentile of an empty set");
  FREREC_ASSERT(q >= 0.0 && q <= 100.0, "percentile q outside [0,100]");
  std::sort(values.begin(), values.end());
  const double position = q / 100.0 * static_cast<double>(values.size() - 1);
  const std::size_t below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[above] - values[below]);
}

BinaryMetricsCI bootstrap_ci(const std::vector<int>& labels, const std::vector<double>& scores,
                             const BootstrapOptions& options, double threshold) {
  check_inputs(labels, scores, "bootstrap_ci");
  if (options.resamples < 1) {
    throw ConfigError(fmt::format("metrics: bootstrap resamples={} must be >= 1", options.resamples));
  }
  if (!(options.confidence > 0.0 && options.confidence < 1.0)) {
    throw ConfigError(fmt::format("metrics: bootstrap confidence={} must be in (0,1), e.g. 0.95",
                                  options.confidence));
  }
  const std::size_t n = labels.size();
  std::mt19937_64 rng(options.seed);
  std::vector<double> aucs, accuracies, f1s;
  aucs.reserve(options.resamples);
  accuracies.reserve(options.resamples);
  f1s.reserve(options.resamples);
  std::vector<int> sample_labels(n);
  std::vector<double> sample_scores(n);
  int skipped = 0;
  for (int r = 0; r < options.resamples; ++r) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto pick = static_cast<std::size_t>(random::uniform_index(rng, n));
      sample_labels[i] = labels[pick];
      sample_scores[i] = scores[pick];
    }
    const double auc = auc_unchecked(sample_labels, sample_scores);
    if (std::isnan(auc)) {
      ++skipped;
    } else {
      aucs.push_back(auc);
    }
    const ConfusionMatrix cm = confusion_unchecked(sample_labels, sample_scores, threshold);
    accuracies.push_back(accuracy(cm));
    f1s.push_back(f1_positive(cm));
  }
  BinaryMetricsCI ci;
  ci.auc = make_interval(std::move(aucs), options.confidence, skipped);
  ci.accuracy = make_interval(std::move(accuracies), options.confidence, 0);
  ci.f1 = make_interval(std::move(f1s), options.confidence, 0);
  return ci;
}

double psnr(const Image& reference, const Image& test, double data_range) {
  if (!reference.same_shape(test)) {
    throw RunError(fmt::format("metrics: psnr needs images of the same shape, got [{},{},{}] and [{},{},{}]",
                               reference.channels, reference.height, reference.width, test.channels,
                               test.height, test.width));
  }
  if (reference.empty()) throw RunError("metrics: psnr got empty images");
  if (!(data_range > 0.0) || !std::isfinite(data_range)) {
    throw ConfigError(fmt::format("metrics: psnr data_range={} must be a positive number (1 for [0,1] images)",
                                  data_range));
  }
  double sum = 0.0;
  for (std::size_t i = 0; i < reference.data.size(); ++i) {
    const double d = static_cast<double>(reference.data[i]) - static_cast<double>(test.data[i]);
    sum += d * d;
  }
  const double mse = sum / static_cast<double>(reference.data.size());
  if (std::isnan(mse)) throw RunError("metrics: psnr got non-finite pixel values");
  if (mse == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(data_range * data_range / mse);
}

}  // namespace frerec::metrics
