#include "framework/core/error.h"

#include <fmt/format.h>

namespace frerec {

void assertion_failed(const char* expression, const char* file, int line, const std::string& message) {
  throw InternalError(fmt::format("internal error: {} ({}:{}: FREREC_ASSERT({}))", message, file, line, expression));
}

}  // namespace frerec
