// Registers every DatasetSource of this library (kind "datasets") in dataset_registry()
// and the Catalog. Idempotent; call once from the program before reading configs.
#pragma once

namespace frerec::datasets {
void register_all();
}
