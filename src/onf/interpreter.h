// moa onf — the ONF interpreter: executes a loop nest in float64 over flat buffers. It is the
// oracle the compiled kernels are checked against, so it checks every offset it reads or
// writes. In: an Onf, values for its sizes, and one flat buffer per input (in the buffer's
// declared layout). Out: one flat buffer per output.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "onf/onf.h"

namespace moa::onf {

using FlatBuffers = std::map<std::string, std::vector<double>>;

// Throws moa::Error when a size is unbound or an input is missing or has the wrong length.
FlatBuffers Interpret(const Onf& onf, const Bindings& sizes, const FlatBuffers& inputs);

}  // namespace moa::onf
