#include "models/restoration/registry.h"

#include <string>

#include "models/restoration/restormer.h"

namespace frerec::restoration {
namespace {

void add_model(const std::string& name, const std::string& description, config::Schema schema,
               RestormerOptions defaults) {
  auto build = [defaults](const config::Params& params) {
    return Restormer(restormer_options_from(params, defaults));
  };
  auto details = [defaults](const config::Params& params) {
    const auto options = restormer_options_from(params, defaults);
    return "parameters: " + std::to_string(count_parameters(Restormer(options)));
  };
  restoration_model_registry().add(name, description, std::move(schema), build, details);
}

}  // namespace

void register_restoration() {
  add_model("restormer", "Restormer (Zamir et al. 2022), official architecture and parameter names",
            restormer_schema(), official_restormer_options());
  add_model("frerec_dae", "FreRec denoising auto-encoder: Restormer with FET blocks (FESA + GDFN)",
            frerec_dae_schema(), paper_dae_options());
}

}  // namespace frerec::restoration
