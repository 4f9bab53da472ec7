#include "base/parallel_for.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace cmig {

void ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  const size_t threads = std::min<size_t>(
      {std::max(1u, std::thread::hardware_concurrency()), kMaxThreads, n / kMinPerThread});
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) {
    helpers.emplace_back([&fn, n, t, threads] {
      for (size_t i = t; i < n; i += threads) fn(i);
    });
  }
  for (size_t i = 0; i < n; i += threads) fn(i);
  for (std::thread& h : helpers) h.join();
}

}  // namespace cmig
