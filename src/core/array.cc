#include "moa/array.h"

#include <sstream>

#include "moa/error.h"
#include "moa/layout.h"

namespace moa {

Array::Array(Index shape, std::vector<double> data) : shape_(std::move(shape)), data_(std::move(data)) {
  for (int64_t s : shape_)
    UserCheck(s >= 0, "array shape ", moa::ToString(shape_), " has a negative extent");
  UserCheck(static_cast<int64_t>(data_.size()) == Product(shape_), "array of shape ",
            moa::ToString(shape_), " needs ", Product(shape_), " elements, got ", data_.size());
}

Array Array::Scalar(double value) { return Array(Index{}, {value}); }

Array Array::Filled(Index shape, double value) {
  for (int64_t s : shape)
    UserCheck(s >= 0, "array shape ", moa::ToString(shape), " has a negative extent");
  const int64_t n = Product(shape);
  return Array(std::move(shape), std::vector<double>(static_cast<size_t>(n), value));
}

Array Array::Iota(Index shape) {
  Array a = Filled(std::move(shape), 0.0);
  for (size_t x = 0; x < a.data_.size(); ++x) a.data_[x] = static_cast<double>(x);
  return a;
}

double Array::at(const Index& i) const { return data_[static_cast<size_t>(Gamma(i, shape_))]; }

double Array::scalar() const {
  UserCheck(shape_.empty(), "expected a scalar (shape <>), got an array of shape ",
            moa::ToString(shape_));
  return data_[0];
}

std::string Array::ToString() const {
  std::ostringstream os;
  os << "shape " << moa::ToString(shape_) << ": ";
  if (shape_.empty()) {
    os << data_[0];
    return os.str();
  }
  // Axis j's brackets open and close every π(j▽ρ) elements.
  Index block = Strides(shape_);
  for (size_t j = 0; j < shape_.size(); ++j) block[j] *= shape_[j];
  for (size_t x = 0; x < data_.size(); ++x) {
    for (size_t j = 0; j < shape_.size(); ++j)
      if (x % static_cast<size_t>(block[j]) == 0) os << '[';
    os << data_[x];
    size_t closed = 0;
    for (size_t j = shape_.size(); j-- > 0;) {
      if ((x + 1) % static_cast<size_t>(block[j]) == 0) {
        os << ']';
        ++closed;
      }
    }
    if (x + 1 < data_.size()) os << (closed ? ", " : " ");
  }
  if (data_.empty()) os << std::string(shape_.size(), '[') << std::string(shape_.size(), ']');
  return os.str();
}

}  // namespace moa
