#include "io/write_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error_testing.h"
#include "io/npy.h"
#include "moa/error.h"

namespace moa::io {
namespace {

TEST(WriteFile, WritesTheBytes) {
  const std::string path = testing::TempDir() + "moa_write_file_test.bin";
  const std::string bytes("a\0b\nc", 5);
  WriteFile(path, bytes, "--x");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), bytes);
  std::remove(path.c_str());
}

// A full device accepts the open and fails the write: the old std::ofstream writes reported
// success (the failure came at a close nobody checked).
TEST(WriteFile, AFullDiskIsAnErrorNamingTheFileAndTheReason) {
  EXPECT_EQ(ErrorOf([] { WriteFile("/dev/full", "hello", "--latex"); }),
            "--latex: cannot write '/dev/full': No space left on device");
  EXPECT_EQ(ErrorOf([] { WriteNpy("/dev/full", Array::Iota({3}), "--output o=/dev/full"); }),
            "--output o=/dev/full: cannot write '/dev/full': No space left on device");
  EXPECT_EQ(ErrorOf([] { WriteFile("/nonexistent/dir/f", "x", ""); }),
            "cannot write '/nonexistent/dir/f': No such file or directory");
  EXPECT_EQ(ErrorOf([] { WriteFile("/", "x", "--plots"); }), "--plots: cannot write '/': Is a directory");
}

TEST(Npy, ReportsTheFilesDtype) {
  std::string dtype;
  ParseNpy(FormatNpy(Array::Iota({2})), "mem", &dtype);
  EXPECT_EQ(dtype, "float64");
  std::string bools = FormatNpy(Array::Iota({2}));
  bools.replace(bools.find("<f8"), 3, "|b1");
  EXPECT_NO_THROW(ParseNpy(bools, "mem", &dtype));
  EXPECT_EQ(dtype, "bool");
}

// A float64 .npy header declaring `shape` (a Python tuple), followed by 16 bytes of data.
std::string NpyWithShape(const std::string& shape) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header +
         std::string(16, '\0');
}

// A shape whose element count wraps around 64 bits used to read as a small (or empty) array.
TEST(Npy, RefusesShapesPastWhatAFileCanHold) {
  EXPECT_EQ(ParseNpy(NpyWithShape("(2,)"), "x.npy").shape(), Index{2});
  // 2^32 x 2^32 elements: 0 after wrapping, so the old reader returned an empty array.
  EXPECT_NE(ErrorOf([] { ParseNpy(NpyWithShape("(4294967296, 4294967296)"), "x.npy"); })
                .find("x.npy: the .npy shape <4294967296 4294967296> has more elements"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { ParseNpy(NpyWithShape("(99999999999999999999,)"), "x.npy"); }).find("is too large"),
            std::string::npos);
}

}  // namespace
}  // namespace moa::io
