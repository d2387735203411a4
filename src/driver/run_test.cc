// moa run / moa.run on sizes the machine cannot hold, inputs of the wrong element type, and the
// caller's own names for sizes in errors.
#include "driver/run.h"

#include <gtest/gtest.h>

#include "core/error_testing.h"
#include "moa/error.h"

namespace moa::driver {
namespace {

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Before the check, these sizes reached std::vector's allocation and failed there
// (std::bad_alloc: a crash in `moa run`, MemoryError in Python) or, wrapping, ran.
TEST(CheckMemory, RefusesSizesPastThisMachinesMemoryInOneLine) {
  const Derivation d = Derive(LoadSpec("attention", true));
  const Bindings huge{{"n", 1000000000000}, {"m", 8}, {"dk", 8}, {"dv", 8}};
  const std::string e = ErrorOf([&] { CheckMemory(d, huge); });
  EXPECT_TRUE(Has(e, "sizes dk=8, dv=8, m=8, n=1000000000000: the interpreter's float64 buffers")) << e;
  EXPECT_TRUE(Has(e, "more than this machine's memory")) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  // Run and DrawMissingInputs check too, before allocating anything.
  EXPECT_TRUE(Has(ErrorOf([&] { driver::Run(d, huge, {}); }), "more than this machine's memory"));
  std::map<std::string, Array> inputs;
  EXPECT_TRUE(Has(ErrorOf([&] { DrawMissingInputs(d.spec, huge, 0, &inputs); }), "the random inputs need"));
  EXPECT_TRUE(inputs.empty());
  // Products past 64 bits are caught, not wrapped into a small count.
  const Bindings wraps{{"n", int64_t{1} << 40}, {"m", 8}, {"dk", int64_t{1} << 40}, {"dv", 8}};
  EXPECT_TRUE(Has(ErrorOf([&] { CheckMemory(d, wraps); }), "need more than 2^63 bytes")) << ErrorOf([&] { CheckMemory(d, wraps); });
  EXPECT_EQ(ErrorOf([&] { CheckMemory(d, {{"n", 4}, {"m", 5}, {"dk", 3}, {"dv", 2}}); }), "");
}

TEST(CheckMemory, CountsTheLiftedFormsTiles) {
  const Derivation d = Derive(LoadSpec("attention", true), {}, lift::Tiles{1000000000000, 1000000000000, 1});
  const Bindings small{{"n", 4}, {"m", 4}, {"dk", 2}, {"dv", 2}};
  EXPECT_TRUE(Has(ErrorOf([&] { CheckMemory(d, small); }), "(inputs, outputs, tiles"));
}

TEST(CheckInputDtype, BoolParametersTakeBoolArraysOnly) {
  const spec::Spec s = LoadSpec("masked_attention", true);
  EXPECT_EQ(ErrorOf([&] { CheckInputDtype(s, "mask", "float64", "--input mask=m.npy"); }),
            "--input mask=m.npy: masked_attention's argument 'mask' is Bool: expected a bool array, got float64");
  EXPECT_EQ(ErrorOf([&] { CheckInputDtype(s, "q", "bool", "q"); }),
            "q: masked_attention's argument 'q' is real: expected a float (or integer) array, got bool");
  EXPECT_EQ(ErrorOf([&] { CheckInputDtype(s, "mask", "bool", "mask"); }), "");
  EXPECT_EQ(ErrorOf([&] { CheckInputDtype(s, "q", "int32", "q"); }), "");
}

TEST(BindSizes, NamesTheCallersArgument) {
  const spec::Spec s = LoadSpec("attention", true);
  EXPECT_EQ(ErrorOf([&] { BindSizes(s, {}, {{"zz", 3}}, Caller::kPython); }),
            "sizes['zz'] = 3: the spec has no size 'zz' (its sizes: n, dk, m, dv)");
  EXPECT_EQ(ErrorOf([&] { BindSizes(s, {}, {{"n", 3}}, Caller::kPython); }),
            "sizes without a value: give them with sizes={'dk': 8, 'm': 8, 'dv': 8} (or pass inputs they can be read from)");
  EXPECT_EQ(ErrorOf([&] { BindSizes(s, {}, {{"zz", 3}}); }), "--set zz=3: the spec has no size 'zz' (its sizes: n, dk, m, dv)");
}

}  // namespace
}  // namespace moa::driver
