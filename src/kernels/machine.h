// moa — runtime attention (stage: kernels, internal): what the kernels need to know about the CPU.
// In: OMP_NUM_THREADS, and the cost model's description of this machine (cost/machine_model.h:
// cache geometry from the OS; or the file MOA_MACHINE names, as `moa peak --output` writes it).
// Out: the default thread count and the block sizes of one attention problem.
#pragma once

#include <cstdint>

#include "moa/attention.h"

namespace moa::internal {

// Default worker count: OMP_NUM_THREADS when set to a positive integer, else MachineCores().
int DefaultThreadCount();

struct Blocks {
  int64_t bq = 0;  // query rows per task, a multiple of 64 (kQueryQuantum)
  int64_t bk = 0;  // key/value rows per tile, a multiple of 32 (two 16-row AMX tiles)
};

// The block sizes the cost model recommends (cost::RecommendTiles: least predicted time of the
// lifted ONF, then least data movement) among the sizes the kernels support, for an nq x nk
// problem of `heads_total` (batch x query heads) heads on `threads` workers; attention passes
// MachineCores(), whatever the call's thread count, since the blocks set the rounding. Decisions
// are cached per problem class (nq and nk rounded up to powers of two; decoding,
// nq <= FewQueryRows, one class for every nk), so a decode loop with a growing nk runs the model
// once. Throws moa::Error when MOA_MACHINE names a file that cannot be read as a machine
// description.
Blocks ChooseBlocks(DType dtype, int64_t dk, int64_t dv, int64_t nq, int64_t nk,
                    int64_t heads_total, int threads);

// The cores this process may run on (cost::UsableCores: its affinity mask; at least 1).
int MachineCores();

// Split-KV: into how many key ranges to split each of `tasks` query blocks (of nk keys in tiles of
// bk) so that `threads` workers share the pieces evenly, within kSplitSlack of a perfect share;
// 1 when the tasks already share well (as they do whenever there are many). Decoding one sequence
// (one task per head) or a long prefill of a single head would otherwise leave workers idle.
// Each range keeps at least kMinSplitKeys keys, so that the states' combination stays small
// against the work.
int64_t KvSplits(int64_t tasks, int threads, int64_t nk, int64_t bk);

}  // namespace moa::internal
