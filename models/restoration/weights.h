// Weight files of the restoration networks (Restormer, the FreRec auto-encoder).
//
// Shipped and exported weights are safetensors (framework/io/safetensors.h;
// tools/export_restormer_weights.py converts an official Restormer checkpoint), keyed by
// the official state-dict names ("encoder_level1.0.attn.qkv.weight", ...). Files of the
// earlier HDF5 format — one dataset per key at the file root, float32 or int64 — still
// load (the golden fixtures tests/golden/restoration/*.weights.h5 are in it). Loading
// into a network: io::load_state (framework/io/state_dict.h).
#pragma once

#include <filesystem>

#include "framework/io/safetensors.h"

namespace frerec::restoration {

// Either format, told apart by the HDF5 signature at the start of the file (not by the
// extension); RunError naming the file when it is missing or unreadable.
io::StateDict read_weights(const std::filesystem::path& path);
// The earlier HDF5 format alone, datasets in name order.
io::StateDict read_weights_h5(const std::filesystem::path& path);

}  // namespace frerec::restoration
