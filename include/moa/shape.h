// moa core — shapes and index vectors. ρA is a Shape (symbolic extents), δA = τ(ρA) its length,
// τA = π(ρA) its size. Concrete index vectors and concrete shapes are plain int64 vectors
// (`Index`), written <a b c> as in MoA.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moa/extent.h"

namespace moa {

using Index = std::vector<int64_t>;
using Shape = std::vector<Extent>;

Shape ToShape(const Index& concrete);
// Concrete values of a shape; throws moa::Error if an extent is symbolic and unbound.
Index Evaluate(const Shape& shape, const Bindings& bindings = {});
bool IsConcrete(const Shape& shape);

inline int64_t Dimension(const Shape& shape) { return static_cast<int64_t>(shape.size()); }  // δ
Extent Size(const Shape& shape);                                                             // τ = π ρ
int64_t Product(const Index& v);                                                             // π v

// Vector take/drop on index vectors and shapes (k ≥ 0 from the front, k < 0 from the back).
Index TakeVec(int64_t k, const Index& v);
Index DropVec(int64_t k, const Index& v);
Shape TakeVec(int64_t k, const Shape& v);
Shape DropVec(int64_t k, const Shape& v);
Index CatVec(const Index& a, const Index& b);
Shape CatVec(const Shape& a, const Shape& b);
Index Iota(int64_t n);  // ι n = <0 … n−1>

std::string ToString(const Index& v);                      // <2 3 4>, <> for the empty vector
std::string ToString(const Shape& s, bool ascii = false);  // <n dk>, <2·n 4>

}  // namespace moa
