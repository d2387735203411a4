// moa core — a dense float64 array with a concrete shape, stored row-major. This is the value
// type of the eager MoA evaluator (moa/algebra.h), the executable definition of MoA that every
// later stage is tested against; it favours being obviously correct over being fast.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "moa/shape.h"

namespace moa {

class Array {
 public:
  Array() : Array(Index{}, {0.0}) {}  // the scalar 0
  // Throws moa::Error when data.size() != π shape or an extent is negative.
  Array(Index shape, std::vector<double> data);

  static Array Scalar(double value);
  static Array Filled(Index shape, double value);
  // Elements 0, 1, 2, … in row-major order: handy for tests and worked examples.
  static Array Iota(Index shape);

  const Index& shape() const { return shape_; }            // ρ
  int64_t dimension() const { return static_cast<int64_t>(shape_.size()); }  // δ
  int64_t size() const { return static_cast<int64_t>(data_.size()); }       // τ
  const std::vector<double>& data() const { return data_; }
  std::vector<double>& data() { return data_; }

  // The element at a full index (checked).
  double at(const Index& i) const;
  // The value of a scalar (shape <>); throws moa::Error otherwise.
  double scalar() const;

  bool operator==(const Array& other) const = default;

  std::string ToString() const;  // shape and nested elements, for test failures and the CLI

 private:
  Index shape_;
  std::vector<double> data_;
};

// Lets GoogleTest and streams print arrays readably.
inline std::ostream& operator<<(std::ostream& os, const Array& a) { return os << a.ToString(); }

}  // namespace moa
