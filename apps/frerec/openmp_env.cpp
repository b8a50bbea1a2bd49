#include "apps/frerec/openmp_env.h"

#include <unistd.h>

#include <cstdlib>

namespace frerec::cli {

void ensure_openmp_wait_policy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("FREREC_NO_REEXEC") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // only returns on failure: run on with the default policy
}

}  // namespace frerec::cli
