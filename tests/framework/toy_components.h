// A toy experiment kind and toy components for the framework tests: cells that sleep,
// count their runs in a file, and fail on request.
#pragma once

namespace frerec::testing {
void register_toy_components();
}  // namespace frerec::testing
