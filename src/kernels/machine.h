// moa — runtime attention (stage: kernels, internal): what the kernels need to know about the CPU.
// In: the running machine (sysconf, /sys/devices/system/cpu/cpu0/cache, OMP_NUM_THREADS).
// Out: cache sizes, the default thread count, and the block sizes of one attention problem.
#pragma once

#include <cstdint>

namespace moa::internal {

struct CacheSizes {
  int64_t l1d = 0;  // bytes, per core
  int64_t l2 = 0;   // bytes, per core
  int64_t l3 = 0;   // bytes, shared
};

// Read once per process: sysconf(_SC_LEVEL*_CACHE_SIZE) first, then the sysfs cache directory;
// when neither answers, conservative sizes of a small 2015-era core (32 KiB, 256 KiB, 8 MiB).
const CacheSizes& MachineCaches();

// Default worker count: OMP_NUM_THREADS when set to a positive integer, else the online cores.
int DefaultThreadCount();

struct Blocks {
  int64_t bq = 0;  // query rows per task, a multiple of 64
  int64_t bk = 0;  // key/value rows per tile, a multiple of 32
};

// Block sizes for accumulator elements of acc_bytes, head dims dk and dv, nq x nk scores, with
// `tasks_per_block_row` (batch x heads) independent heads and `threads` workers.
Blocks ChooseBlocks(const CacheSizes& caches, int acc_bytes, int64_t dk, int64_t dv, int64_t nq,
                    int64_t nk, int64_t heads_total, int threads);

}  // namespace moa::internal
