// moa — attention across MPI ranks (stage: ring, rows of strided views). See rows.h.
#include "ring/rows.h"

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace moa::internal {
namespace {

// One row of d accumulators into elements `stride` apart of type T (bfloat16: its bits).
template <typename T, typename A>
void WriteRow(const A* acc, int64_t d, unsigned char* dst, int64_t stride) {
  if (std::is_same_v<T, A> && stride == 1) {
    std::memcpy(dst, acc, static_cast<size_t>(d) * sizeof(A));
    return;
  }
  for (int64_t e = 0; e < d; ++e) {
    T x;
    if constexpr (std::is_same_v<T, uint16_t>) {
      x = BFloat16FromFloat(static_cast<float>(acc[e]));
    } else {
      x = static_cast<T>(acc[e]);
    }
    std::memcpy(dst + e * stride * static_cast<int64_t>(sizeof(T)), &x, sizeof(T));
  }
}

}  // namespace

Tensor Slice(const Tensor& t, int dim, int64_t begin, int64_t count) {
  Tensor s = t;
  s.data = static_cast<unsigned char*>(t.data) + begin * t.strides[dim] * DTypeSize(t.dtype);
  s.sizes[dim] = count;
  return s;
}

void PackBhsd(const Tensor& t, unsigned char* dst) {
  const int64_t item = DTypeSize(t.dtype);
  const auto* src = static_cast<const unsigned char*>(t.data);
  for (int64_t b = 0; b < t.sizes[0]; ++b)
    for (int64_t h = 0; h < t.sizes[1]; ++h)
      for (int64_t s = 0; s < t.sizes[2]; ++s) {
        const unsigned char* row =
            src + (b * t.strides[0] + h * t.strides[1] + s * t.strides[2]) * item;
        if (t.strides[3] == 1) {
          std::memcpy(dst, row, static_cast<size_t>(t.sizes[3] * item));
          dst += t.sizes[3] * item;
        } else {
          for (int64_t e = 0; e < t.sizes[3]; ++e, dst += item) {
            std::memcpy(dst, row + e * t.strides[3] * item, static_cast<size_t>(item));
          }
        }
      }
}

template <typename A>
void WriteOut(const A* acc, const Tensor& out) {
  auto* base = static_cast<unsigned char*>(out.data);
  const int64_t item = DTypeSize(out.dtype);
  const int64_t d = out.rank == 4 ? out.sizes[3] : 1, stride = out.rank == 4 ? out.strides[3] : 1;
  for (int64_t b = 0; b < out.sizes[0]; ++b)
    for (int64_t h = 0; h < out.sizes[1]; ++h)
      for (int64_t s = 0; s < out.sizes[2]; ++s, acc += d) {
        unsigned char* row =
            base + (b * out.strides[0] + h * out.strides[1] + s * out.strides[2]) * item;
        switch (out.dtype) {
          case DType::kFloat64: WriteRow<double>(acc, d, row, stride); break;
          case DType::kFloat32: WriteRow<float>(acc, d, row, stride); break;
          default: WriteRow<uint16_t>(acc, d, row, stride); break;  // bfloat16
        }
      }
}

template void WriteOut<float>(const float*, const Tensor&);
template void WriteOut<double>(const double*, const Tensor&);

}  // namespace moa::internal
