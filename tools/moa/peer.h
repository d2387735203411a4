// `moa bench`'s unfused peer: attention as another library's primitives compute it — a batched
// matmul S = scale·q·kᵀ, a softmax over S's rows, a batched matmul P·v — for the comparison the
// kernels issue asks for. The peer is oneDNN (Debian's libdnnl-dev) when moa was built with it
// (peer_onednn.cc), else none (peer_none.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bench.h"

namespace moa::cli {

// "onednn" when built with it, else "" (the peer is then never run).
const char* PeerName();
// The library, its version, and the instruction set its kernels run on here, for the report;
// or why there is no peer.
std::string PeerDescription();
// "" when the peer computes `dtype`, else the reason it does not.
std::string PeerUnsupported(DType dtype);

// The peer prepared for one point: primitives created and S (heads × nq × nk float32) allocated once,
// so that a call times only the computation. Writes its output into t.o.
class PeerRun {
 public:
  PeerRun(const BenchTensors& t, DType dtype, int64_t heads, int64_t nq, int64_t nk, int64_t d,
          int threads);
  ~PeerRun();
  void operator()();
  // The implementations the library chose for the three steps (e.g. "brg:avx512_core_amx").
  std::string Kernels() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace moa::cli
