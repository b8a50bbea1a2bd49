// Method registry, the shared base augmentation and the RAW method.
#include "augmentations/method.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

#include "augmentations/sources.h"
#include "framework/core/random.h"
#include "framework/train/trainer.h"

namespace frerec::augmentations {
namespace {

// Horizontal / vertical flip with probability p (each its own draw).
class FlipTransform : public train::SampleTransform {
 public:
  FlipTransform(double horizontal, double vertical) : horizontal_(horizontal), vertical_(vertical) {}
  void apply(Image& image, std::mt19937_64& rng) const override {
    // generate_canonical = std::uniform_real_distribution<double>(0, 1) of libstdc++, which
    // drew these flips before; kept so the committed results stay valid.
    const bool h = random::generate_canonical(rng) < horizontal_;
    const bool v = random::generate_canonical(rng) < vertical_;
    if (!h && !v) return;
    Image out(image.channels, image.height, image.width);
    for (int c = 0; c < image.channels; ++c)
      for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
          out.at(c, y, x) = image.at(c, v ? image.height - 1 - y : y, h ? image.width - 1 - x : x);
    image = std::move(out);
  }

 private:
  double horizontal_, vertical_;
};

// torchvision RandomCrop(size, padding=p): zero-pad by p on every side, crop the original
// size at a uniformly drawn offset in [0, 2p] × [0, 2p].
class PadCropTransform : public train::SampleTransform {
 public:
  explicit PadCropTransform(int padding) : padding_(padding) {}
  void apply(Image& image, std::mt19937_64& rng) const override {
    // libstdc++'s std::uniform_int_distribution<int>(0, 2p), which drew the offsets before.
    const int dy = random::uniform_int(rng, 0, 2 * padding_) - padding_;
    const int dx = random::uniform_int(rng, 0, 2 * padding_) - padding_;
    Image out(image.channels, image.height, image.width, 0.0f);
    for (int c = 0; c < image.channels; ++c)
      for (int y = 0; y < image.height; ++y) {
        const int sy = y + dy;
        if (sy < 0 || sy >= image.height) continue;
        for (int x = 0; x < image.width; ++x) {
          const int sx = x + dx;
          if (sx >= 0 && sx < image.width) out.at(c, y, x) = image.at(c, sy, sx);
        }
      }
    image = std::move(out);
  }

 private:
  int padding_;
};

class RawMethod : public Method {};

}  // namespace

TrainingInputs Method::prepare(const CellData& data) {
  TrainingInputs inputs;
  inputs.train = source_of(data.task.real_train);
  if (!data.task.real_val.empty()) inputs.validation = source_of(data.task.real_val);
  inputs.test = source_of(data.task.real_test);
  inputs.record["train_real"] = data.task.real_train.size();
  inputs.record["train_synthetic"] = 0;
  return inputs;
}

MethodRegistry& method_registry() {
  static MethodRegistry registry("methods");
  return registry;
}

namespace {

std::map<std::string, ReportPlacement>& placements() {
  static std::map<std::string, ReportPlacement> table;
  return table;
}
std::mutex& placements_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<std::pair<std::string, std::string>> placed(int ReportPlacement::*order) {
  std::vector<std::tuple<int, std::string, std::string>> rows;
  {
    std::lock_guard<std::mutex> lock(placements_mutex());
    for (const auto& [method, placement] : placements())
      if (placement.*order >= 0) rows.emplace_back(placement.*order, method, placement.table3_label);
  }
  std::sort(rows.begin(), rows.end());
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [rank, method, label] : rows) out.emplace_back(method, label);
  return out;
}

}  // namespace

void set_report_placement(const std::string& method, ReportPlacement placement) {
  std::lock_guard<std::mutex> lock(placements_mutex());
  placements()[method] = std::move(placement);
}

std::vector<std::string> table2_methods() {
  std::vector<std::string> names;
  for (const auto& [method, label] : placed(&ReportPlacement::table2_order)) names.push_back(method);
  return names;
}

std::vector<std::pair<std::string, std::string>> table3_methods() { return placed(&ReportPlacement::table3_order); }

config::Schema method_section_schema() {
  config::Schema base;
  base.add_float("hflip", 0.5, "probability of a horizontal flip", 0.0, 1.0);
  base.add_float("vflip", 0.0, "probability of a vertical flip", 0.0, 1.0);
  base.add_int("crop_padding", 4, "random crop after zero-padding this many pixels per side (0 = off)", 0, 64);
  config::Schema section;
  section.add_map("base", base, "the light augmentation every method shares (flip, small crop)");
  return section;
}

void add_base_transforms(train::Trainer& trainer, const config::Params& section) {
  const config::Params base = section.sub("base");
  const double h = base.get<double>("hflip"), v = base.get<double>("vflip");
  if (h > 0 || v > 0) trainer.add_sample_transform(std::make_shared<FlipTransform>(h, v));
  const int padding = base.get<int>("crop_padding");
  if (padding > 0) trainer.add_sample_transform(std::make_shared<PadCropTransform>(padding));
}

void register_methods();  // other methods of this library (methods.cpp)

void register_all() {
  static std::once_flag once;
  std::call_once(once, [] {
    method_registry().add("raw", "real training images only, with the shared base augmentation", config::Schema(),
                          [](const config::Params&) -> std::unique_ptr<Method> { return std::make_unique<RawMethod>(); });
    set_report_placement("raw", {0, -1, ""});
    register_methods();
  });
}

}  // namespace frerec::augmentations
