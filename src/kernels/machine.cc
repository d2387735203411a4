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
  // Key/value tile: its K^T (dk x bk) and V (bk x dv) parts are re-read by every row group of the
  // query block, so they should stay in L2. Half of L2 is given to them; the other half holds the
  // query tile, the score tile and the output accumulator of the same task. The micro-kernels
  // sweep K^T in 64-column chunks (4 vectors of 16 floats) that sit in L1 across a row group.
  const int64_t kv_bytes_per_key = (dk + dv) * acc_bytes;
  int64_t bk = (caches.l2 / 2) / std::max<int64_t>(kv_bytes_per_key, 1);
  // Upper cap 512: beyond it the online-softmax rescale of O (bq x dv per tile) is already < 1% of
  // the tile's 2 x bq x bk x (dk + dv) flops, and bigger tiles only waste work on short sequences.
  bk = std::clamp<int64_t>(bk / 64 * 64, 64, 512);
  bk = std::min(bk, RoundUp(std::max<int64_t>(nk, 1), 64));
  b.bk = bk;

  // Query block: the query tile (bq x dk), score tile (bq x bk) and output accumulator (bq x dv)
  // share the remaining half of L2 with room to spare (a quarter of L2). Larger bq re-packs each
  // K/V tile fewer times (packing costs 1/bq of the tile's flops).
  int64_t bq = (caches.l2 / 4) / std::max<int64_t>((dk + bk + dv) * acc_bytes, 1);
  bq = std::clamp<int64_t>(bq / 8 * 8, 8, 128);
  // Enough tasks for the threads to balance: at least 4 per thread when the problem allows it.
  // bq stays a multiple of 8: the naive path writes whole 4-row groups of the shared S matrix, so
  // a block must never end inside a group that the next block owns.
  while (bq > 16 && heads_total * ((nq + bq - 1) / bq) < 4 * static_cast<int64_t>(threads)) {
    bq = std::max<int64_t>(16, bq / 2 / 8 * 8);
  }
  b.bq = std::min(bq, RoundUp(std::max<int64_t>(nq, 1), 4));
  return b;
}

}  // namespace moa::internal
