// results/<experiment>/index.html: the whole report on one self-contained page (no
// network, no other file): Table 2 and Table 3 (sortable, p-values and intervals beside),
// the figures, training curves per method (mean ± std over seeds from each cell's
// train_log.jsonl), the sample grids, and one section per cell (resolved config, metrics,
// curve, timing, the first line of a failure). Built from the files `frerec report` writes
// (table*.csv, runs.csv, figures/) and the cell folders, so the page's tables are
// table*.csv cell for cell.
#pragma once

#include <filesystem>
#include <string>

namespace frerec::experiments {

// Writes <experiment_dir>/index.html atomically; returns the line naming it ("" when the
// folder has no runs.csv, i.e. no cells).
std::string write_html_report(const std::filesystem::path& experiment_dir);

}  // namespace frerec::experiments
