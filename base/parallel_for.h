// Running independent pieces of one step on the machine's cores.
//
//   std::vector<std::string> hashes(items.size());
//   cmig::ParallelFor(items.size(), [&](size_t i) { hashes[i] = Sha256Hex(items[i]); });
//
// fn(0) .. fn(n - 1) each run once, split over at most kMaxThreads threads (the caller's among
// them), and only when there are at least kMinPerThread indexes per thread: below that, threads
// cost more than they save and everything runs on the caller's thread. Returns when every call
// has returned. fn must be safe to call concurrently for different indexes; the order of calls is
// unspecified.
#ifndef CMIG_BASE_PARALLEL_FOR_H_
#define CMIG_BASE_PARALLEL_FOR_H_

#include <cstddef>
#include <functional>

namespace cmig {

inline constexpr size_t kMaxThreads = 4;
inline constexpr size_t kMinPerThread = 256;

void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

}  // namespace cmig

#endif  // CMIG_BASE_PARALLEL_FOR_H_
