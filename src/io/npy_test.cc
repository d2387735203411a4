#include "io/npy.h"

#include <gtest/gtest.h>

#include "moa/error.h"

namespace moa::io {
namespace {

TEST(Npy, RoundTripsShapes) {
  for (const Index& shape : {Index{}, Index{3}, Index{2, 3}, Index{1, 0, 4}, Index{2, 3, 5}}) {
    const Array a = Array::Iota(shape);
    EXPECT_EQ(ParseNpy(FormatNpy(a), "mem"), a) << ToString(shape);
    EXPECT_EQ(FormatNpy(a).find('\n') % 64, 63u);  // header aligned as NumPy requires
  }
}

TEST(Npy, ReadsFortranOrderAndOtherDtypes) {
  // np.arange(6, dtype=np.float32).reshape(2, 3, order='F'): memory 0..5 column-major.
  std::string header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
  for (int k = 0; k < 6; ++k) {
    const float x = static_cast<float>(k);
    bytes.append(reinterpret_cast<const char*>(&x), 4);
  }
  const Array a = ParseNpy(bytes, "mem");
  EXPECT_EQ(a, Array({2, 3}, {0, 2, 4, 1, 3, 5}));
}

TEST(Npy, RejectsBadFiles) {
  EXPECT_THROW(ParseNpy("hello", "x.npy"), Error);
  std::string good = FormatNpy(Array::Iota({4}));
  EXPECT_THROW(ParseNpy(good.substr(0, good.size() - 8), "x.npy"), Error);
  std::string big_endian = good;
  big_endian.replace(big_endian.find("<f8"), 3, ">f8");
  try {
    ParseNpy(big_endian, "x.npy");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.npy: unsupported .npy dtype '>f8'"), std::string::npos);
  }
  EXPECT_THROW(ReadNpy("/nonexistent/file.npy"), Error);
}

// Found by fuzz/npy_fuzz.cc: a shape field that is not a tuple (here empty, the header's last
// field) was read as one, and substr threw std::out_of_range past every moa::Error handler.
TEST(Npy, RejectsShapesThatAreNotTuples) {
  for (const std::string shape : {"", "5", "(5,", "5)"}) {
    std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + "}";
    header.resize(118, ' ');
    header += '\n';
    const std::string file = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) +
                             '\0' + header + std::string(40, '\0');
    try {
      ParseNpy(file, "x.npy");
      FAIL() << shape;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("x.npy: malformed ", 0), 0u) << e.what();
    }
  }
}

// Found by fuzz/npy_fuzz.cc: an empty Fortran-order array whose other extents multiply past
// int64 (π was taken in reversed order, overflowing before the 0): it has 0 elements.
TEST(Npy, EmptyArraysOfHugeExtents) {
  std::string header = "{'descr': '<f8', 'fortran_order': True, 'shape': (0, 3, 5555555554, 3, 5555555554, 4), }";
  header.resize(126, ' ');
  header += '\n';
  const std::string file = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
  const Array a = ParseNpy(file, "x.npy");
  EXPECT_EQ(a.size(), 0);
  EXPECT_EQ(a.shape(), (Index{0, 3, 5555555554, 3, 5555555554, 4}));
  EXPECT_THROW(Product({3, 5555555554, 3, 5555555554, 4, 5555555554}), Error);
}

}  // namespace
}  // namespace moa::io
