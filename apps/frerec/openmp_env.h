// OpenMP wait policy for LibTorch's thread pool (bench/restoration/README.md, measured):
// with libgomp's default spin-waiting, 2 intra-op threads on 2 busy cores ran 10–60×
// slower than 1 thread, because waiting threads burn the cores the working thread needs
// (perf: 93% of calibrate's CPU in the wait loop). libgomp reads OMP_WAIT_POLICY once, when
// it is loaded, so the program re-executes itself with OMP_WAIT_POLICY=PASSIVE when the
// variable is unset. Set OMP_WAIT_POLICY yourself (e.g. ACTIVE on a dedicated many-core
// node) to keep your choice; FREREC_NO_REEXEC=1 disables the re-exec.
#pragma once

namespace frerec::cli {

// Returns normally when the policy is set (or the re-exec is disabled or fails).
void ensure_openmp_wait_policy(char** argv);

}  // namespace frerec::cli
