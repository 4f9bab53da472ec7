// How many malloc arenas the servers' processes keep. glibc gives each thread that allocates
// while another holds an arena one of its own, up to eight per core; freed memory stays in the
// arena it came from. The orchestrator and the worker run many threads (gRPC's, the engine's,
// the worker's slots) that each pass large messages (a fetched definition set, a package), so
// their peak memory grew with the number of threads that touched one. With one arena, memory
// freed by one step is reused by the next, whichever thread runs it. Measured with
// benchmarks/migration/migration_bench at 10,000 + 10,000 definitions: the source worker's peak
// RSS 394 MB -> 166 MB.
//
// Call first in main(), before any thread starts. MALLOC_ARENA_MAX in the environment, when set,
// wins.
#ifndef CMIG_BASE_MALLOC_ARENAS_H_
#define CMIG_BASE_MALLOC_ARENAS_H_

#include <malloc.h>

#include <cstdlib>

namespace cmig {

inline void LimitMallocArenas(int arenas) {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, arenas);
}

}  // namespace cmig

#endif  // CMIG_BASE_MALLOC_ARENAS_H_
