#include "io/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "moa/algebra.h"
#include "io/write_file.h"
#include "moa/error.h"

namespace moa::io {
namespace {

// The value of `key` in the header dict, e.g. 'descr': '<f8' → <f8 (quotes stripped).
std::string Field(const std::string& header, const std::string& key, const std::string& what) {
  const std::string tag = "'" + key + "'";
  size_t at = header.find(tag);
  UserCheck(at != std::string::npos, what, ": .npy header has no ", tag, " field");
  at = header.find(':', at + tag.size());
  UserCheck(at != std::string::npos, what, ": malformed .npy header");
  ++at;
  while (at < header.size() && header[at] == ' ') ++at;
  size_t end = at;
  if (header[at] == '\'') {
    end = header.find('\'', at + 1);
    UserCheck(end != std::string::npos, what, ": malformed .npy header");
    return header.substr(at + 1, end - at - 1);
  }
  if (header[at] == '(') {
    end = header.find(')', at);
    UserCheck(end != std::string::npos, what, ": malformed .npy header");
    return header.substr(at, end - at + 1);
  }
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  return header.substr(at, end - at);
}

Index ParseShape(const std::string& tuple, const std::string& what) {
  Index shape;
  std::string digits;
  // A tuple: the header's field ended anywhere else (an empty value read past its end).
  UserCheck(tuple.size() >= 2 && tuple.front() == '(' && tuple.back() == ')', what,
            ": malformed shape '", tuple, "' in the .npy header: expected a tuple");
  for (char c : tuple.substr(1)) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == ',' || c == ')') {
      // At most 18 digits: every extent fits int64 (the product is checked by the caller).
      UserCheck(digits.size() <= 18, what, ": extent ", digits, " in the .npy shape ", tuple, " is too large");
      if (!digits.empty()) shape.push_back(std::stoll(digits));
      digits.clear();
    } else if (c != ' ') {
      throw Error(what + ": malformed shape " + tuple + " in the .npy header");
    }
  }
  return shape;
}

template <typename T>
std::vector<double> Convert(const char* data, size_t count) {
  std::vector<double> out(count);
  for (size_t k = 0; k < count; ++k) {
    T x;
    std::memcpy(&x, data + k * sizeof(T), sizeof(T));
    out[k] = static_cast<double>(x);
  }
  return out;
}

}  // namespace

Array ParseNpy(const std::string& bytes, const std::string& what, std::string* dtype) {
  UserCheck(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, what, ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  UserCheck(major >= 1 && major <= 3, what, ": unsupported .npy version ", major);
  size_t header_len, start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8;
    start = 10;
  } else {
    UserCheck(bytes.size() >= 12, what, ": truncated .npy header");
    header_len = 0;
    for (int b = 3; b >= 0; --b) header_len = header_len << 8 | static_cast<unsigned char>(bytes[8 + b]);
    start = 12;
  }
  UserCheck(bytes.size() >= start + header_len, what, ": truncated .npy header");
  const std::string header = bytes.substr(start, header_len);
  const std::string descr = Field(header, "descr", what);
  const bool fortran = Field(header, "fortran_order", what) == "True";
  const Index shape = ParseShape(Field(header, "shape", what), what);
  int64_t elements = 1;
  for (int64_t x : shape)
    UserCheck(!__builtin_mul_overflow(elements, x, &elements) && elements <= (int64_t{1} << 60), what,
              ": the .npy shape ", ToString(shape), " has more elements than any file can hold");
  const auto count = static_cast<size_t>(elements);
  const char* data = bytes.data() + start + header_len;
  const size_t available = bytes.size() - start - header_len;

  size_t item = 0;
  std::vector<double> values;
  auto need = [&](size_t size) {
    item = size;
    UserCheck(available >= count * item, what, ": .npy data is truncated: shape ", ToString(shape),
              " needs ", count * item, " bytes, found ", available);
  };
  std::string name;
  if (descr == "<f8") { need(8); values = Convert<double>(data, count); name = "float64"; }
  else if (descr == "<f4") { need(4); values = Convert<float>(data, count); name = "float32"; }
  else if (descr == "<i8") { need(8); values = Convert<int64_t>(data, count); name = "int64"; }
  else if (descr == "<i4") { need(4); values = Convert<int32_t>(data, count); name = "int32"; }
  else if (descr == "|b1") { need(1); values = Convert<uint8_t>(data, count); name = "bool"; }
  else if (descr == "|u1") { need(1); values = Convert<uint8_t>(data, count); name = "uint8"; }
  else {
    throw Error(what + ": unsupported .npy dtype '" + descr +
                "' (expected float64 <f8, float32 <f4, int64, int32 or bool, little-endian)");
  }
  if (dtype != nullptr) *dtype = name;
  if (!fortran) return Array(shape, std::move(values));
  // Fortran order is row-major of the reversed shape; transpose back.
  return Transpose(Array(Index(shape.rbegin(), shape.rend()), std::move(values)));
}

std::string FormatNpy(const Array& array) {
  std::ostringstream dict;
  dict << "{'descr': '<f8', 'fortran_order': False, 'shape': (";
  for (size_t j = 0; j < array.shape().size(); ++j) dict << array.shape()[j] << (array.shape().size() == 1 || j + 1 < array.shape().size() ? "," : "") << (j + 1 < array.shape().size() ? " " : "");
  dict << "), }";
  std::string header = dict.str();
  // Pad with spaces so that magic + length + header + '\n' is a multiple of 64 bytes.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(array.data().data()), array.data().size() * sizeof(double));
  return out;
}

Array ReadNpy(const std::string& path, std::string* dtype) {
  std::ifstream in(path, std::ios::binary);
  UserCheck(in.good(), "cannot open '", path, "' for reading");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return ParseNpy(bytes.str(), path, dtype);
}

void WriteNpy(const std::string& path, const Array& array, const std::string& what) {
  WriteFile(path, FormatNpy(array), what);
}

}  // namespace moa::io
