// A bounded, ordered producer pool: `workers` threads call producer(i) for i = 0..count-1,
// at most `prefetch` items ahead of the consumer; next() hands the items out strictly in
// index order, so what the consumer sees does not depend on the number of workers or their
// timing. With workers = 0 next() produces on the calling thread. The time next() spends
// blocked is accumulated (the trainer's data-wait fraction). A producer exception is
// rethrown by next() (the first one; the pool then stops). Torch-free.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace frerec::train {

template <typename T>
class OrderedPrefetcher {
 public:
  using Producer = std::function<T(std::size_t index)>;

  OrderedPrefetcher(std::size_t count, Producer producer, int workers, int prefetch)
      : count_(count), producer_(std::move(producer)), prefetch_(prefetch < 1 ? 1 : prefetch) {
    for (int w = 0; w < workers; ++w) threads_.emplace_back([this] { work(); });
  }

  ~OrderedPrefetcher() { stop(); }
  OrderedPrefetcher(const OrderedPrefetcher&) = delete;
  OrderedPrefetcher& operator=(const OrderedPrefetcher&) = delete;

  // Moves the next item into `out`; false once all `count` items were handed out.
  bool next(T& out) {
    if (consumed_ >= count_) return false;
    const auto start = std::chrono::steady_clock::now();
    if (threads_.empty()) {
      out = producer_(consumed_++);
      wait_seconds_ += seconds_since(start);
      return true;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    ready_cv_.wait(lock, [&] { return error_ || ready_.count(consumed_) > 0; });
    wait_seconds_ += seconds_since(start);
    if (error_) std::rethrow_exception(error_);
    auto it = ready_.find(consumed_);
    out = std::move(it->second);
    ready_.erase(it);
    ++consumed_;
    lock.unlock();
    work_cv_.notify_all();
    return true;
  }

  double wait_seconds() const { return wait_seconds_; }
  std::size_t count() const { return count_; }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  void work() {
    for (;;) {
      std::size_t index;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        work_cv_.wait(lock, [&] {
          return stopping_ || error_ || produced_ >= count_ || produced_ < consumed_ + prefetch_;
        });
        if (stopping_ || error_ || produced_ >= count_) return;
        index = produced_++;
      }
      try {
        T item = producer_(index);
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.emplace(index, std::move(item));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      ready_cv_.notify_all();
      work_cv_.notify_all();
    }
  }

  const std::size_t count_;
  Producer producer_;
  const std::size_t prefetch_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable work_cv_, ready_cv_;
  std::map<std::size_t, T> ready_;
  std::size_t produced_ = 0;  // next index a worker will take
  std::size_t consumed_ = 0;  // next index next() hands out
  std::exception_ptr error_;
  bool stopping_ = false;
  double wait_seconds_ = 0.0;
};

}  // namespace frerec::train
