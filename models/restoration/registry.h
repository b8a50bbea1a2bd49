// Registration of the restoration networks (kind "models"):
//   restormer   — official Restormer (schema restormer_schema(), models/restoration/restormer.h)
//   frerec_dae  — FreRec DAE backbone with FET blocks (schema frerec_dae_schema())
// `frerec info models <name>` prints "parameters: N" for the given config.
#pragma once

namespace frerec::restoration {
void register_restoration();
}  // namespace frerec::restoration

namespace frerec {
// Convenience alias used by the program's register_all().
inline void register_restoration() { restoration::register_restoration(); }
}  // namespace frerec
