// SHA-256 for config hashes, cache keys and checkpoint fingerprints.
#pragma once

#include <cstdint>
#include <cstddef>
#include <string>
#include <vector>

namespace frerec {

class Hasher {
 public:
  Hasher();
  Hasher& update(const void* data, std::size_t bytes);
  Hasher& update(const std::string& text) { return update(text.data(), text.size()); }
  template <typename T>
  Hasher& update_pod(const T& value) { return update(&value, sizeof(T)); }
  std::string hex();  // finishes; 64 hex characters

 private:
  void block(const std::uint8_t* chunk);
  std::uint32_t state_[8];
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

std::string sha256_hex(const std::string& text);
std::string sha256_file(const std::string& path);  // throws RunError if unreadable

}  // namespace frerec
