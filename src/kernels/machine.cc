// moa — runtime attention (stage: kernels, internal): cache sizes, thread count, block sizes.
#include "kernels/machine.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace moa::internal {
namespace {

// Parses "48K", "2048K", "30M" as written in /sys/devices/system/cpu/cpu0/cache/index*/size.
int64_t ParseSysfsSize(const std::string& text) {
  if (text.empty()) return 0;
  char* end = nullptr;
  int64_t value = std::strtoll(text.c_str(), &end, 10);
  if (end && (*end == 'K' || *end == 'k')) value *= 1024;
  if (end && (*end == 'M' || *end == 'm')) value *= 1024 * 1024;
  return value;
}

// Looks through cpu0's cache indices for a data or unified cache of the given level.
int64_t SysfsCache(int level) {
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level_file(dir + "level"), type_file(dir + "type"), size_file(dir + "size");
    if (!level_file || !type_file || !size_file) continue;
    int found_level = 0;
    std::string type, size;
    level_file >> found_level;
    type_file >> type;
    size_file >> size;
    if (found_level == level && type != "Instruction") return ParseSysfsSize(size);
  }
  return 0;
}

int64_t CacheSize(int sysconf_name, int level, int64_t fallback) {
  long value = sysconf(sysconf_name);
  if (value > 0) return value;
  int64_t sysfs = SysfsCache(level);
  return sysfs > 0 ? sysfs : fallback;
}

int64_t RoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

}  // namespace

const CacheSizes& MachineCaches() {
  static const CacheSizes caches = [] {
    CacheSizes c;
    c.l1d = CacheSize(_SC_LEVEL1_DCACHE_SIZE, 1, 32 << 10);
    c.l2 = CacheSize(_SC_LEVEL2_CACHE_SIZE, 2, 256 << 10);
    c.l3 = CacheSize(_SC_LEVEL3_CACHE_SIZE, 3, 8 << 20);
    return c;
  }();
  return caches;
}

int DefaultThreadCount() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    // OMP_NUM_THREADS may be a list ("4,2" for nested levels); the first entry is ours.
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

Blocks ChooseBlocks(const CacheSizes& caches, int acc_bytes, int64_t dk, int64_t dv, int64_t nq,
                    int64_t nk, int64_t heads_total, int threads) {
  Blocks b;
  // The kernels vectorise along queries in chunks of 64 (4 AVX-512 float32 vectors; see
  // attention_problem.h). In P V, one chunk of the probability tile (bk x 64 elements) is re-read
  // for every group of 4 output columns, so it should stay in L1: half of L1 for it, the other half
  // for the K/V rows being broadcast. That fixes bk (96 on a 48 KiB L1 with float32).
  const int64_t chunk_bytes = 64 * acc_bytes;
  int64_t bk = (caches.l1d / 2) / chunk_bytes;
  // A multiple of 32 keys: two 16-row AMX tiles per step, so tiles start at 32-key boundaries.
  bk = std::clamp<int64_t>(bk / 32 * 32, 32, 512);
  b.bk = std::min(bk, RoundUp(std::max<int64_t>(nk, 1), 32));

  // Query block: Q^T (dk x bq), the score tile (bk x bq) and O^T (dv x bq) stay in L2 for the
  // whole sweep over keys; half of L2 is given to them. Every K/V element is loaded once per query
  // block, so a larger bq divides K/V traffic and the per-tile packing of K/V (the V^T copy of
  // the AMX path costs bk x dv per tile); capped at 512 rows.
  int64_t bq = (caches.l2 / 2) / std::max<int64_t>((dk + bk + dv) * acc_bytes, 1);
  bq = std::clamp<int64_t>(bq / 64 * 64, 64, 512);
  // Enough tasks for the threads to balance: at least 4 per thread when the problem allows it.
  while (bq > 64 && heads_total * ((nq + bq - 1) / bq) < 4 * static_cast<int64_t>(threads)) {
    bq = std::max<int64_t>(64, bq / 2 / 64 * 64);
  }
  b.bq = std::min(bq, RoundUp(std::max<int64_t>(nq, 1), 64));
  return b;
}

}  // namespace moa::internal
