// moa fuzzing — the .npy reader on arbitrary bytes. A moa::Error is the accepted answer to a
// malformed file; an array it accepts must survive the writer and the reader again unchanged
// (same shape, same bits, NaN for NaN).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "io/npy.h"
#include "moa/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moa::Array first;
  try {
    first = moa::io::ParseNpy(std::string(reinterpret_cast<const char*>(data), size), "<fuzz>");
  } catch (const moa::Error&) {
    return 0;
  }
  const moa::Array again = moa::io::ParseNpy(moa::io::FormatNpy(first), "<round trip>");
  if (again.shape() != first.shape() || again.size() != first.size() ||
      (first.size() > 0 &&
       std::memcmp(again.data().data(), first.data().data(), sizeof(double) * first.size()) != 0)) {
    __builtin_trap();
  }
  return 0;
}
