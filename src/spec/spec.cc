#include "spec/spec.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "spec/lower.h"
#include "spec/parser.h"
#include "spec/tokenizer.h"

namespace moa::spec {

SpecError::SpecError(const std::string& file, int line, int column, const std::string& message)
    : Error(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": error: " + message),
      line_(line),
      column_(column) {}

namespace {

// The length of the UTF-8 sequence starting at s[i], or 0 when it is not one: Python source is
// UTF-8 (PEP 3120), and names and text from the source reach JSON, which holds only UTF-8 (a
// stray byte in a comment made `moa derive --json` throw from the JSON library: fuzz/spec_fuzz.cc).
size_t Utf8Length(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  const unsigned c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned lo = 0x80, hi = 0xbf;  // the second byte's range (narrowed to refuse overlong forms)
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
  else return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  return n;
}

void CheckUtf8(const std::string& source, const std::string& file) {
  int line = 1, column = 1;
  for (size_t i = 0; i < source.size();) {
    const size_t n = Utf8Length(source, i);
    if (n == 0) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02X", static_cast<unsigned char>(source[i]));
      throw SpecError(file, line, column, std::string("the source is not UTF-8 (byte ") + hex + ")");
    }
    if (source[i] == '\n') ++line, column = 0;
    ++column;
    i += n;
  }
}

}  // namespace

Spec Parse(const std::string& source, const std::string& file) {
  CheckUtf8(source, file);
  const std::vector<internal::Token> tokens = internal::Tokenize(source, file);
  const internal::Module module = internal::ParseModule(tokens, file);
  return internal::Lower(module, source, file);
}

Spec ParseFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  UserCheck(in.good(), "cannot open spec file '", path, "'");
  std::ostringstream text;
  text << in.rdbuf();
  UserCheck(!in.bad(), "cannot read spec file '", path, "'");
  return Parse(text.str(), path);
}

}  // namespace moa::spec
