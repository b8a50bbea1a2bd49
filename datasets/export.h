// Exporting datasets as PNG folders and drawing contact sheets (`frerec datasets export`).
//
// export_dataset writes the sampled task (load_task) under out_dir:
//   <out>/<split>/<negative|positive>/<id with '/' → '__'>.png   (8- or 16-bit as cached;
//                               ids that map to one name get __2, __3, ...: export.cpp)
//   <out>/manifest.csv          path,label,split,id — loadable with data.name: csv_manifest
//   <out>/synthetic/<class>/... and <out>/synthetic/manifest.csv when a synthetic pool exists
//                               (loadable with data.synthetic.name: synthetic_folder)
// write_contact_sheet draws a grid of the first `per_class` images of each class of a set,
// one labelled row per class, each image enlarged to at least 96 px (nearest neighbour).
#pragma once

#include <filesystem>
#include <string>

#include "datasets/dataset.h"

namespace frerec::datasets {

struct ExportSummary {
  std::size_t images = 0;
  std::filesystem::path manifest;
};

ExportSummary export_task(const TaskData& task, const std::filesystem::path& out_dir);
// load_task(data_section, ctx) then export_task.
ExportSummary export_dataset(const config::Params& data_section, const std::filesystem::path& out_dir,
                             const RunContext& ctx);
// A validated `data` section for a registered dataset name plus optional overrides
// (a mapping merged over {name: <name>}), e.g. for `frerec datasets export demo_mri`.
config::Params data_section_for(const std::string& name, const YAML::Node& overrides = YAML::Node());

void write_contact_sheet(const ImageSet& set, const std::string& title, const std::filesystem::path& png,
                         int per_class = 8);

// `frerec datasets export NAME --out DIR [key=value ...]`: the sampled task as PNG folders
// + manifest.csv (overrides are keys of the data section, e.g. image_size=128).
int export_command(const std::string& name, const std::filesystem::path& out,
                   const std::vector<std::string>& overrides, const RunContext& run);

}  // namespace frerec::datasets
