// moa driver — evaluating a derived spec on concrete arrays through the ONF interpreter, as
// `moa run` and `moa.run` in Python do. Sizes not given are inferred from the inputs' shapes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "driver/derivation.h"
#include "moa/array.h"

namespace moa::driver {

// Who passed the sizes, so that errors name the caller's argument: `--set n=3` on the command
// line, `sizes={'n': 3}` in Python.
enum class Caller { kCli, kPython };

// Binds every size of the spec: `given` first, then from the inputs' shapes. Throws moa::Error
// naming a size that two sources disagree on, an input whose rank or constant extents are off,
// or the sizes left without a value.
Bindings BindSizes(const spec::Spec& spec, const std::map<std::string, Array>& inputs, const Bindings& given,
                   Caller caller = Caller::kCli);

// Refuses an input whose element type does not match its parameter's: a Bool parameter takes
// bool arrays only, a real one anything numeric but bool. `dtype` is the input's as given
// ("bool", "float64", "int32", ...), `what` how the caller names the input in the message.
void CheckInputDtype(const spec::Spec& spec, const std::string& name, const std::string& dtype,
                     const std::string& what);

// Refuses (moa::Error naming the sizes, the bytes needed and the machine's memory) a run whose
// float64 buffers — inputs, outputs and tiles of the program Run interprets, with the copies a
// run makes of them — cannot fit in this machine's physical memory. Counted with overflow
// checks before anything is allocated, so that sizes too large fail in one line, not as
// std::bad_alloc (MemoryError in Python) or a machine swapping.
void CheckMemory(const Derivation& d, const Bindings& sizes);

// Draws the inputs not in `inputs`: standard normal reals, bool masks true with probability 0.8
// (so rows are rarely fully masked). Returns the names it drew. Refuses, as CheckMemory does,
// inputs too large for this machine's memory.
std::vector<std::string> DrawMissingInputs(const spec::Spec& spec, const Bindings& sizes, uint64_t seed,
                                           std::map<std::string, Array>* inputs);

// Runs the ONF interpreter on the lifted ONF when the derivation has one, else on the ONF;
// outputs in the spec's order, as row-major arrays. Checks CheckMemory first.
std::vector<Array> Run(const Derivation& d, const Bindings& sizes, const std::map<std::string, Array>& inputs);

}  // namespace moa::driver
