// moa io — NumPy's .npy format (version 1.0–3.0), for `moa run`. Reads float64, float32, int64,
// int32 and bool arrays in C or Fortran order, little-endian, into row-major float64; writes
// row-major little-endian float64. Malformed files are moa::Errors naming the file.
#pragma once

#include <string>

#include "moa/array.h"

namespace moa::io {

// `dtype`, when given, receives the file's element type as NumPy names it ("float64", "bool", …):
// the array itself is float64 whatever the file held.
Array ReadNpy(const std::string& path, std::string* dtype = nullptr);
// Throws moa::Error naming `what` (the flag the path came from), the path and the OS's reason
// when the file cannot be written whole (io/write_file.h).
void WriteNpy(const std::string& path, const Array& array, const std::string& what = "");

// The same on in-memory bytes (`what` names the source in errors).
Array ParseNpy(const std::string& bytes, const std::string& what, std::string* dtype = nullptr);
std::string FormatNpy(const Array& array);

}  // namespace moa::io
