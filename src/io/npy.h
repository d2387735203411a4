// moa io — NumPy's .npy format (version 1.0–3.0), for `moa run`. Reads float64, float32, int64,
// int32 and bool arrays in C or Fortran order, little-endian, into row-major float64; writes
// row-major little-endian float64. Malformed files are moa::Errors naming the file.
#pragma once

#include <string>

#include "moa/array.h"

namespace moa::io {

Array ReadNpy(const std::string& path);
void WriteNpy(const std::string& path, const Array& array);

// The same on in-memory bytes (`what` names the source in errors).
Array ParseNpy(const std::string& bytes, const std::string& what);
std::string FormatNpy(const Array& array);

}  // namespace moa::io
