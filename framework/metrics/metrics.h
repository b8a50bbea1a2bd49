// Binary classification metrics and image fidelity (PSNR) for the Evaluator
// (shared/DESIGN.md §4 "Table 2 methods and backbones": AUC, Acc, F1 of the positive class).
// Torch-free: scores are plain doubles (the positive-class probability, softmax of class 1).
//
//   * roc_auc: the Mann-Whitney U statistic divided by n_pos·n_neg, computed with
//     average ranks, so tied scores between a positive and a negative count one half.
//     Equal to sklearn.metrics.roc_auc_score (trapezoidal ROC) for binary labels.
//     Undefined (RunError) when only one class is present.
//   * Hard predictions: score >= threshold is positive; threshold 0.5 by default.
//   * f1_positive: 2·TP / (2·TP + FP + FN) of class 1; 0 when the denominator is 0
//     (sklearn's zero_division=0 value, without its warning).
//   * Bootstrap: resample (label, score) pairs with replacement, n_resamples times, from
//     a std::mt19937_64 seeded explicitly; indices drawn by rejection sampling
//     (random::uniform_index; std::uniform_int_distribution differs between libraries).
//     The interval is the percentile interval (linear interpolation, numpy's default);
//     resamples holding a single class are skipped for AUC and counted in `skipped`.
//   * psnr: 10·log10(R² / MSE) over all channels and pixels, R = data_range (1 for our
//     [0,1] images); +inf for identical images. Matches skimage.metrics.peak_signal_noise_ratio.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/core/image.h"

namespace frerec::metrics {

struct ConfusionMatrix {
  long tn = 0;  // label 0, predicted 0
  long fp = 0;  // label 0, predicted 1
  long fn = 0;  // label 1, predicted 0
  long tp = 0;  // label 1, predicted 1
  long total() const { return tn + fp + fn + tp; }
};

// Labels must be 0 or 1, scores finite, sizes equal and non-zero (RunError otherwise).
double roc_auc(const std::vector<int>& labels, const std::vector<double>& scores);
ConfusionMatrix confusion_matrix(const std::vector<int>& labels, const std::vector<double>& scores,
                                 double threshold = 0.5);
double accuracy(const ConfusionMatrix& cm);
double f1_positive(const ConfusionMatrix& cm);
double precision_positive(const ConfusionMatrix& cm);  // 0 when nothing is predicted positive
double recall_positive(const ConfusionMatrix& cm);     // 0 when there is no positive

struct BinaryMetrics {
  double auc = 0.0;
  double accuracy = 0.0;
  double f1 = 0.0;
  double precision = 0.0;
  double recall = 0.0;
  double threshold = 0.5;
  ConfusionMatrix confusion;
};

// All of the above at once. AUC must be defined (both classes present).
BinaryMetrics evaluate_binary(const std::vector<int>& labels, const std::vector<double>& scores,
                              double threshold = 0.5);

struct BootstrapOptions {
  int resamples = 1000;        // >= 1
  double confidence = 0.95;    // in (0,1)
  std::uint64_t seed = 0;
};

struct Interval {
  double low = 0.0;
  double high = 0.0;
  int used = 0;     // resamples that entered the interval
  int skipped = 0;  // resamples where the metric was undefined (single class, AUC only)
};

struct BinaryMetricsCI {
  Interval auc;
  Interval accuracy;
  Interval f1;
};

BinaryMetricsCI bootstrap_ci(const std::vector<int>& labels, const std::vector<double>& scores,
                             const BootstrapOptions& options, double threshold = 0.5);

// Linear-interpolation percentile (numpy's default), q in [0,100]; `values` non-empty.
double percentile(std::vector<double> values, double q);

// Peak signal-to-noise ratio in dB; images must have the same shape (RunError otherwise).
double psnr(const Image& reference, const Image& test, double data_range = 1.0);

}  // namespace frerec::metrics
