// Torch-free feature-space analysis for the paper's Fig. 7 (t-SNE of classifier features of
// real vs synthetic images, before and after FreRec) and for the generator report (domain
// Fréchet distance, precision/recall, a real-vs-synthetic linear probe). Inputs are feature
// matrices: one row per image, one column per feature, row-major doubles.
//
//   * t-SNE: exact t-SNE (van der Maaten & Hinton 2008) with sklearn's method='exact'
//     semantics (sklearn >= 1.2 defaults): squared Euclidean input distances, rounded to
//     float32 as sklearn's Cython search takes them; per-point binary search of the Gaussian
//     precision to the perplexity (entropy in nats, tolerance 1e-5, 100 steps);
//     P = (P_cond + P_condᵀ)/(2N), clipped at machine epsilon; Student-t Q with
//     dof = max(dims − 1, 1); gradient descent with momentum 0.5 under early exaggeration,
//     0.8 afterwards, per-parameter gains (+0.2 / ×0.8, min 0.01), update and gains reset
//     between the two phases, stop checks every 50 iterations (gradient norm ≤ 1e-7; no
//     progress for 300 iterations in the second phase). Init: PCA scaled so that the first
//     column has std 1e-4 (exact eigenvectors; each component's sign makes its
//     largest-magnitude score positive). For dims ≥ 3 the gradient uses the exact factor
//     (1 + d²/dof)⁻¹ (sklearn's exact gradient uses the kernel value there; identical for
//     dims = 2). kl_divergence is KL(P‖Q) of the returned embedding. Rows are split over
//     `threads` with per-row sums reduced in row order: same result for any thread count.
//   * Logistic regression: minimises ½‖w‖² + C·Σᵢ log(1 + exp(−ỹᵢ(w·xᵢ + b))), the intercept
//     b unpenalised (sklearn's LogisticRegression convention), by Newton's method with
//     Jacobi-preconditioned conjugate gradients and a backtracking line search.
//   * Probe: stratified k folds (each class shuffled by std::mt19937_64(seed) with our own
//     Fisher–Yates, then dealt round-robin), features standardised with the training
//     fold's mean and population std (a zero std counts as 1, like StandardScaler), ROC AUC
//     of the decision function on the held-out fold (frerec::metrics::roc_auc, ties count
//     one half); auc = mean over folds, auc_std = population std over folds.
//   * Fréchet distance (REFERENCE.md "Generative-model metrics"): covariances with N − 1;
//     Tr sqrt(Σa Σb) = Σ sqrt(λ) over the eigenvalues λ of sqrt(Σa) Σb sqrt(Σa) (symmetric,
//     negatives clipped to 0), or — when a set has fewer rows than features — of the
//     smaller Gram form (A Bᵀ)(A Bᵀ)ᵀ with A, B the centred data / sqrt(N − 1), which has
//     the same non-zero eigenvalues. If that is not finite, 1e-6·I is added to both
//     covariances once (pytorch-fid's fallback). The result is clamped at 0.
//   * Precision/recall (Kynkäänniemi et al. 2019): radius of a reference point = Euclidean
//     distance to its k-th nearest neighbour in its own set (itself excluded); a sample is
//     inside a manifold if within (≤) the radius of any of its points; precision =
//     generated inside real, recall = real inside generated. Distances come from a Gram
//     matrix; comparisons closer than its rounding error bound are re-decided with exact
//     differences, so the answer is that of brute force.
//
// Errors: bad options, shapes or too few rows throw ConfigError; non-finite feature
// values throw RunError (a data problem found at run time). Messages name the function,
// the parameter, its value and the fix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace frerec::analysis {

// Row-major n × d matrix of doubles.
struct Matrix {
  std::size_t rows = 0, cols = 0;
  std::vector<double> data;
  Matrix() = default;
  Matrix(std::size_t r, std::size_t c) : rows(r), cols(c), data(r * c, 0.0) {}
  double& operator()(std::size_t i, std::size_t j) { return data[i * cols + j]; }
  double operator()(std::size_t i, std::size_t j) const { return data[i * cols + j]; }
  const double* row(std::size_t i) const { return data.data() + i * cols; }
  double* row(std::size_t i) { return data.data() + i * cols; }
};

// Rows of a, then rows of b. cols must match (ConfigError otherwise); a default-constructed
// (0 × 0) matrix on either side is the identity, so vstack can accumulate from Matrix().
Matrix vstack(const Matrix& a, const Matrix& b);

// ConfigError unless data.size() == rows·cols and rows ≥ min_rows; RunError on a NaN or
// infinite entry (naming its row and column). `what` names the caller and argument, e.g.
// "frechet_distance: a".
void validate_matrix(const Matrix& m, const std::string& what, std::size_t min_rows = 1);

// ---- t-SNE -------------------------------------------------------------------------------
struct TsneOptions {
  int dims = 2;
  double perplexity = 30.0;
  int iterations = 1000;
  double early_exaggeration = 12.0;
  int exaggeration_iterations = 250;
  double learning_rate = -1.0;   // -1 = "auto": max(N / early_exaggeration / 4, 50) (sklearn >= 1.2)
  std::uint64_t seed = 0;        // used only for a degenerate PCA (all rows equal): Gaussian init, std 1e-4
  int threads = 1;
  int max_points = 5000;          // exact t-SNE is O(N²): refuse larger inputs with a clear error
  std::function<void(int iteration, double kl)> progress;  // optional, every 50 iterations
                                                           // (KL of the exaggerated P in phase one)
};
// iterations = gradient steps taken (sklearn's n_iter_ + 1; fewer than options.iterations
// when a stop check fired).
struct TsneResult { Matrix embedding; double kl_divergence = 0; int iterations = 0; };
TsneResult tsne(const Matrix& x, const TsneOptions& options);

// The joint probabilities t-SNE fits (N × N, zero diagonal, entries ≥ machine epsilon off it,
// sum 1): exposed for tests and for diagnostics. perplexity in (0, N).
Matrix tsne_joint_probabilities(const Matrix& x, double perplexity, int threads = 1);

// sklearn.manifold.trustworthiness with the Euclidean metric: T(k) = 1 − 2/(nk(2n−3k−1)) ·
// Σᵢ Σ_{j ∈ kNN_embedding(i)} max(0, r(i,j) − k), r = rank in the input space (ties broken
// by lower index). Requires n_neighbors < rows / 2 and equal row counts.
double trustworthiness(const Matrix& x, const Matrix& embedding, int n_neighbors = 5);

// ---- Logistic regression and the real-vs-synthetic probe -------------------------------
struct ProbeOptions { int folds = 5; double c = 1.0; bool standardize = true; std::uint64_t seed = 0; int max_iterations = 200; };
struct ProbeResult { double auc = 0, auc_std = 0; std::vector<double> fold_auc; };
// Real-vs-synthetic linear probe: `a` rows are class 0 (real), `b` rows class 1 (synthetic); stratified k-fold
// cross-validated ROC AUC of an L2-regularised logistic regression (sklearn's C convention, intercept not
// penalised), features standardised with the training fold's mean/std.
ProbeResult logistic_probe(const Matrix& a, const Matrix& b, const ProbeOptions& options);
// The same with explicit folds: fold_of_row[i] in [0, options.folds) for the rows of
// vstack(a, b); every fold must hold both classes. options.seed is unused here.
ProbeResult logistic_probe_with_folds(const Matrix& a, const Matrix& b, const std::vector<int>& fold_of_row,
                                      const ProbeOptions& options);
// The fold of each label (0/1) as logistic_probe assigns them: within each class, a seeded
// shuffle dealt round-robin over the folds. Each class needs at least `folds` members.
std::vector<int> stratified_folds(const std::vector<int>& labels, int folds, std::uint64_t seed);

struct LogisticModel { std::vector<double> weights; double intercept = 0; int iterations = 0; };
LogisticModel fit_logistic(const Matrix& x, const std::vector<int>& y, double c, int max_iterations = 200);
// w·x + b for every row of x (the log-odds of class 1).
std::vector<double> decision_function(const LogisticModel& model, const Matrix& x);

// ---- Generative-model metrics (REFERENCE.md "Generative-model metrics") ------------------
double frechet_distance(const Matrix& a, const Matrix& b);   // ‖μa−μb‖² + Tr Σa + Tr Σb − 2 Tr sqrt(Σa Σb)
struct PrecisionRecall { double precision = 0, recall = 0; };
PrecisionRecall precision_recall(const Matrix& real, const Matrix& generated, int k = 3);

}  // namespace frerec::analysis
