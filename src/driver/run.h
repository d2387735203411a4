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

// Binds every size of the spec: `given` first, then from the inputs' shapes. Throws moa::Error
// naming a size that two sources disagree on, an input whose rank or constant extents are off,
// or the sizes left without a value.
Bindings BindSizes(const spec::Spec& spec, const std::map<std::string, Array>& inputs, const Bindings& given);

// Draws the inputs not in `inputs`: standard normal reals, bool masks true with probability 0.8
// (so rows are rarely fully masked). Returns the names it drew.
std::vector<std::string> DrawMissingInputs(const spec::Spec& spec, const Bindings& sizes, uint64_t seed,
                                           std::map<std::string, Array>* inputs);

// Runs the ONF interpreter on the lifted ONF when the derivation has one, else on the ONF;
// outputs in the spec's order, as row-major arrays.
std::vector<Array> Run(const Derivation& d, const Bindings& sizes, const std::map<std::string, Array>& inputs);

}  // namespace moa::driver
