// moa cost — operation counts and cache traffic of an ONF loop nest (stage: cost).
// In: an onf::Onf (any loop nest of Loop / Let / Accum / Store over flat buffers), values for its
// sizes, the element size, and one cache capacity. Out: multiply-adds, other flops and exps, and
// per array the bytes the loop nest loads into and writes back out of a cache of that capacity.
//
// The model (the classic footprint / "fits or not" model of loop-nest locality):
//  * The footprint of a loop is the set of distinct cache lines its whole execution touches,
//    per array: each access is an affine offset; the loops inside the loop range over boxes, and
//    runs that are contiguous in memory are merged before rounding up to lines. Two accesses with
//    the same offset up to renaming of the inner loop variables touch the same lines (the three
//    passes of the DNF read the same q row); different accesses to one array add up, capped at
//    the array's size.
//  * A loop whose footprint fits in the cache, or one iteration of which fits, moves exactly its
//    footprint: data reused across its iterations (temporally, or the rest of a line) hits.
//    Otherwise each iteration is costed on its own (no reuse across iterations), and the
//    statements of a body that does not fit are costed separately (no reuse between siblings).
//    With ways = 0 this is LRU on a fully associative cache with the whole capacity usable.
//    With ways > 0 the footprint is also mapped onto sets by address (arrays page-aligned): the
//    lines of sets asked to hold more lines than ways lose their reuse, the others keep it, and
//    the traffic is interpolated by that share — which catches power-of-two strides (a column
//    of S with a 4 KiB row pitch lands in a few sets) and working sets just over the capacity.
//    For one iteration of a loop the share is averaged over the mappings of 8 of its iterations:
//    tiles that stream with the loop land in other sets at each one.
//    Prefetching, replacement other than LRU and inclusion between levels are not modelled.
//  * Loads and write-allocate fills count as loaded bytes; dirty lines written back count as stored
//    bytes. Named scalars (Let / Accum) live in registers.
//  * `outer_split` = p models p threads splitting every top-level loop into contiguous chunks, each
//    thread with a private cache of this capacity: the result is p times one thread's traffic.
// Flops: an Accum with + of a product, or a Store b[x] = b[x] + a·c, is one multiply-add
// (2 flops); every other binary op, and every unary op except exp, is one flop; exps are counted
// apart. Operations on sizes and constants only (sqrt(dk)) are hoisted and count nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "onf/onf.h"

namespace moa::cost {

struct OpCounts {
  double fma = 0;          // multiply-adds
  double other_flops = 0;  // adds, subtractions, products, divisions, max not fused
  double exps = 0;
  double flops() const { return 2 * fma + other_flops; }
  // Register <- L1: bytes of every load and every store the program issues, per array.
  std::map<std::string, double> loaded_bytes;
  std::map<std::string, double> stored_bytes;
};

OpCounts CountOps(const onf::Onf& onf, const Bindings& sizes, int elem_bytes);

struct ArrayBytes {
  double loaded = 0;  // lines brought into the cache (loads and write-allocate fills) x line
  double stored = 0;  // dirty lines written back x line
};

struct CacheSpec {
  int64_t capacity = 0;  // bytes
  int line = 64;         // bytes
  int elem_bytes = 8;
  int64_t outer_split = 1;  // threads sharing the top-level loops, each with its own cache
  int ways = 0;             // associativity; 0 = fully associative
};

// Bytes moved between a cache of `spec.capacity` and the next slower level, per array.
std::map<std::string, ArrayBytes> Traffic(const onf::Onf& onf, const Bindings& sizes,
                                          const CacheSpec& spec);

// Distinct bytes (whole lines) the program touches per array: its compulsory traffic.
std::map<std::string, double> Footprint(const onf::Onf& onf, const Bindings& sizes, int line,
                                        int elem_bytes);

}  // namespace moa::cost
