#include "strict_numbers.h"

#include <charconv>
#include <cmath>

namespace moa::cli {

bool ParseDecimal(const std::string& text, int64_t* value) {
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, *value);
  return !text.empty() && error == std::errc() && ptr == end;
}

namespace {

std::string CheckInteger(const std::string& text, bool non_negative) {
  int64_t value = 0;
  // CLI11 converts with base 0 after this check: a leading 0 would make the number octal.
  const size_t digits = text.find_first_not_of('-');
  const bool octal = digits != std::string::npos && text[digits] == '0' && text.size() > digits + 1;
  if (!ParseDecimal(text, &value) || octal || (non_negative && value < 0)) {
    return std::string("expected a ") + (non_negative ? "non-negative " : "") +
           "decimal integer within 64 bits, without leading zeros, got '" + text + "'";
  }
  return "";
}

std::string CheckReal(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end || !std::isfinite(value))
    return "expected a finite decimal number, got '" + text + "'";
  return "";
}

void AddChecks(CLI::App* app) {
  for (CLI::Option* option : app->get_options()) {
    const std::string type = option->get_type_name();
    if (type == "INT" || type == "UINT") {
      const bool non_negative = type == "UINT";
      option->check(CLI::Validator(
          [non_negative](std::string& text) { return CheckInteger(text, non_negative); }, "", ""));
    } else if (type == "FLOAT") {
      option->check(CLI::Validator([](std::string& text) { return CheckReal(text); }, "", ""));
    }
  }
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) AddChecks(sub);
}

}  // namespace

void StrictNumbers(CLI::App& app) { AddChecks(&app); }

}  // namespace moa::cli
