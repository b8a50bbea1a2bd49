// Registration of the generators library (call once from the program's register_all()):
//   * Catalog entry kind "generators", name `fastgan_lite`: the `generator` section of
//     `frerec generator train` configs (gan_trainer.h) with its keys, and parameter counts
//     of G and D (`frerec info generators fastgan_lite image_size=128 channels=3`).
#pragma once

namespace frerec::generators {
void register_generators();
}  // namespace frerec::generators
