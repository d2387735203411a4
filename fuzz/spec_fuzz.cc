// moa fuzzing — the compiler front to back on arbitrary bytes: parse as a spec, derive (DNF, ONF
// and, where there is a softmax-weighted sum, the lifted ONF), print every form, and run the
// interpreter with every size bound to a small value, checking it against the eager float64
// evaluator of the expression DAG (the DNF and ONF must mean what the spec means). A moa::Error is
// an accepted answer to bad input; any other exception, a crash, a sanitizer report, a hang,
// runaway memory or a disagreement is a bug.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include <cmath>
#include <cstdio>
#include <vector>

#include "driver/derivation.h"
#include "driver/run.h"
#include "expr/evaluate.h"
#include "moa/error.h"
#include "spec/spec.h"

namespace {

// The size every symbolic extent takes, from the input's first byte: 0, 1, 2 or 3 (edge sizes and
// a tail), small enough that any accepted spec runs in milliseconds.
int64_t SmallSize(const uint8_t* data, size_t size) { return size == 0 ? 2 : data[0] % 4; }

[[noreturn]] void Disagree(const char* what, size_t output, size_t element) {
  std::fprintf(stderr, "interpreter and eager evaluator disagree: %s (output %zu, element %zu)\n",
               what, output, element);
  __builtin_trap();
}

void DeriveAndRun(const moa::spec::Spec& spec, const moa::Bindings& sizes, bool lift) {
  std::optional<moa::lift::Tiles> tiles;
  if (lift) tiles = moa::lift::Tiles{2, 3};
  const moa::driver::Derivation d = moa::driver::Derive(spec, {}, tiles);
  (void)moa::driver::ToText(d, /*steps=*/true);
  (void)moa::driver::ToLatex(d);
  (void)moa::driver::ToJson(d, /*steps=*/true).dump();
  std::map<std::string, moa::Array> inputs;
  moa::driver::DrawMissingInputs(d.spec, sizes, /*seed=*/1, &inputs);
  const std::vector<moa::Array> got = moa::driver::Run(d, sizes, inputs);
  std::vector<moa::Array> want;
  try {
    want = moa::expr::Evaluate(d.spec.outputs, inputs, sizes);
  } catch (const moa::Error&) {
    return;  // refused by the eager evaluator: nothing to compare with
  }
  if (got.size() != want.size()) Disagree("output count", 0, 0);
  for (size_t o = 0; o < got.size(); ++o) {
    if (got[o].shape() != want[o].shape()) Disagree("output shape", o, 0);
    double scale = 1;
    for (double w : want[o].data()) scale = std::isfinite(w) ? std::max(scale, std::fabs(w)) : scale;
    for (size_t e = 0; e < got[o].data().size(); ++e) {
      const double g = got[o].data()[e], w = want[o].data()[e];
      const bool same_special = (std::isnan(g) && std::isnan(w)) || (std::isinf(g) && g == w);
      if (!same_special && !(std::fabs(g - w) <= 1e-9 * scale)) Disagree("element", o, e);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string source(reinterpret_cast<const char*>(data), size);
  moa::spec::Spec spec;
  try {
    spec = moa::spec::Parse(source, "<fuzz>");
  } catch (const moa::Error&) {
    return 0;
  }
  moa::Bindings sizes;
  for (const std::string& name : spec.sizes) sizes[name] = SmallSize(data, size);
  for (bool lift : {false, true}) {
    try {
      DeriveAndRun(spec, sizes, lift);
    } catch (const moa::Error&) {
    }
  }
  return 0;
}
