// Progress for long work: a bar with ETA when stderr is a terminal, plain periodic lines
// otherwise (logs, CI). Thread-compatible: call from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace frerec {

class Progress {
 public:
  Progress(std::string label, std::size_t total, bool interactive, double line_interval_seconds = 10.0);
  ~Progress();
  void set(std::size_t done, const std::string& status = "");
  void advance(std::size_t n = 1, const std::string& status = "") { set(done_ + n, status); }
  void finish(const std::string& status = "");
  double elapsed_seconds() const;
  double eta_seconds() const;  // negative when unknown

 private:
  void draw(bool final_line);
  std::string label_;
  std::size_t total_;
  std::size_t done_ = 0;
  bool interactive_;
  bool finished_ = false;
  double interval_;
  std::string status_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12.3s"
bool stderr_is_terminal();

}  // namespace frerec
