// A DatasetSource whose records were listed up front from files (every file-based loader).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "datasets/core/layout.h"
#include "datasets/dataset.h"

namespace frerec::datasets {

class ListedSource : public DatasetSource {
 public:
  ListedSource(std::string name, std::vector<Record> records, int natural_channels, std::string generator = "")
      : name_(std::move(name)), records_(std::move(records)), channels_(natural_channels),
        generator_(std::move(generator)) {
    finalize_records(name_, records_);
  }
  const std::string& name() const override { return name_; }
  const std::vector<Record>& records() const override { return records_; }
  int natural_channels() const override { return channels_; }
  std::string generator() const override { return generator_; }

 private:
  std::string name_;
  std::vector<Record> records_;
  int channels_;
  std::string generator_;
};

// Registration hooks of the loader files (called by register_all()).
void register_brain_tumor_kaggle(DatasetRegistry& registry);
void register_mimic_cxr_jpg(DatasetRegistry& registry);
void register_kaggle_dr(DatasetRegistry& registry);
void register_generic_folders(DatasetRegistry& registry);  // image_folder, csv_manifest, synthetic_folder
void register_demo_tasks(DatasetRegistry& registry);       // demo_mri, demo_cxr, demo_fundus
void register_known_bias(DatasetRegistry& registry);       // known_bias (datasets/demo/known_bias.h)
// A rendered demo image as a decoded 8-bit record, converted to `channels` when that is set
// (non-zero) and differs (the demo sources and the known-bias pool).
io::DecodedImage rendered_record(Image image, int channels);

}  // namespace frerec::datasets
