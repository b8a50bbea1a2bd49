#include "framework/core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace frerec {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

std::string format_duration(double seconds) {
  if (!(seconds >= 0)) return "?";
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  const long s = std::lround(seconds);
  if (s < 3600) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
}

Progress::Progress(std::string label, std::size_t total, bool interactive, double line_interval_seconds)
    : label_(std::move(label)),
      total_(total),
      interactive_(interactive),
      interval_(line_interval_seconds),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  if (interactive_ && !finished_ && done_ > 0) std::fputs("\n", stderr);
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double Progress::eta_seconds() const {
  if (done_ == 0 || total_ == 0) return -1;
  return elapsed_seconds() / static_cast<double>(done_) * static_cast<double>(total_ - std::min(done_, total_));
}

void Progress::set(std::size_t done, const std::string& status) {
  done_ = std::min(done, total_);
  if (!status.empty()) status_ = status;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if ((interactive_ && since >= 0.1) || (!interactive_ && since >= interval_) || done_ == total_) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  if (!status.empty()) status_ = status;
  done_ = total_;
  draw(true);
  finished_ = true;
}

void Progress::draw(bool final_line) {
  const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
  const std::string eta = final_line ? fmt::format("in {}", format_duration(elapsed_seconds()))
                                     : fmt::format("ETA {}", format_duration(eta_seconds()));
  if (interactive_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(std::round(fraction * kWidth));
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kWidth - filled), '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %zu/%zu %3.0f%% %s %s", label_.c_str(), bar.c_str(), done_, total_,
                 fraction * 100.0, eta.c_str(), status_.c_str());
    if (final_line) std::fputs("\n", stderr);
    std::fflush(stderr);
  } else {
    spdlog::info("{} {}/{} ({:.0f}%) {} {}", label_, done_, total_, fraction * 100.0, eta, status_);
  }
}

}  // namespace frerec
