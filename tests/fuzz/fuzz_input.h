// Shared by the fuzz targets: the bytes libFuzzer hands a target, as text and split in two.
#ifndef CMIG_TESTS_FUZZ_FUZZ_INPUT_H_
#define CMIG_TESTS_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/strings/string_view.h"

namespace cmig::fuzz {

inline absl::string_view Text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The text before the first NUL byte and the text after it (empty when there is none): one
// input drives two arguments, and the fuzzer learns where to put the NUL.
inline std::pair<absl::string_view, absl::string_view> SplitAtNul(absl::string_view text) {
  const size_t nul = text.find('\0');
  if (nul == absl::string_view::npos) return {text, {}};
  return {text.substr(0, nul), text.substr(nul + 1)};
}

// Stops the process the way a sanitizer would, so libFuzzer and the replay record the input.
[[noreturn]] inline void Violated() { __builtin_trap(); }

}  // namespace cmig::fuzz

#endif  // CMIG_TESTS_FUZZ_FUZZ_INPUT_H_
