// `moa bench` built without oneDNN: no unfused peer.
#include "moa/error.h"
#include "peer.h"

namespace moa::cli {

struct PeerRun::State {};

const char* PeerName() { return ""; }
std::string PeerDescription() {
  return "no peer: moa was built without oneDNN (install Debian's libdnnl-dev and rebuild)";
}
std::string PeerUnsupported(DType) { return PeerDescription(); }
PeerRun::PeerRun(const BenchTensors&, DType, int64_t, int64_t, int64_t, int64_t, int) {
  throw Error("moa bench: " + PeerDescription());
}
PeerRun::~PeerRun() = default;
void PeerRun::operator()() {}
std::string PeerRun::Kernels() const { return ""; }

}  // namespace moa::cli
