#include "models/generators/register.h"

#include <fmt/format.h>

#include <mutex>

#include "framework/core/registry.h"
#include "models/generators/gan.h"
#include "models/generators/gan_trainer.h"

namespace frerec::generators {
namespace {

// The generator section plus the data facts the architecture needs (for `frerec info`).
config::Schema info_schema() {
  config::Schema schema = generator_schema();
  schema.add_int("image_size", 64, "(info only) image side; comes from data.image_size in a config", 32, 256);
  schema.add_int("channels", 1, "(info only) image channels; comes from the task in a config", 1, 3);
  return schema;
}

std::string parameter_counts(const config::Params& params) {
  GanArchitecture a;
  a.image_size = params.get<int>("image_size");
  a.channels = params.get<int>("channels");
  a.z_dim = params.get<int>("z_dim");
  a.embed_dim = params.get<int>("embed_dim");
  a.g_width = params.get<int>("g_width");
  a.g_max_width = params.get<int>("g_max_width");
  a.d_width = params.get<int>("d_width");
  a.d_max_width = params.get<int>("d_max_width");
  a.d_mbstd_group = params.get<int>("d_mbstd_group");
  a.g_noise = params.get<int>("g_noise");
  a.g_zmod = params.get<int>("g_zmod");
  a.validate("");
  const Generator g(a);
  const Discriminator d(a);
  return fmt::format("parameters: generator {}, discriminator {} at {}x{}x{}", count_parameters(*g),
                     count_parameters(*d), a.image_size, a.image_size, a.channels);
}

}  // namespace

void register_generators() {
  static std::once_flag once;
  std::call_once(once, [] {
    Catalog::instance().add(ComponentInfo{
        "generators", "fastgan_lite",
        "class-conditional trimmed FastGAN (SLE, conditional BN) + spectral-norm projection D, hinge loss, "
        "DiffAugment, EMA; `frerec generator train CONFIG` reads these keys from its `generator` section",
        std::make_shared<const config::Schema>(info_schema()), parameter_counts});
  });
}

}  // namespace frerec::generators
