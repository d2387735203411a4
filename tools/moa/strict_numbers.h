// Numbers on the command line are read one way only: plain decimal, in range, finite. CLI11 on
// its own reads "-1" into an unsigned option as 2^64 - 1, "010" as 8 (octal), "0x10" as 16, an
// integer past int64 as INT64_MAX and "nan" or "inf" as numbers; each of those is refused here.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace moa::cli {

// `text` as a decimal int64 ("-12", "7"; no sign '+', spaces, base prefixes, exponent); false
// when it is not one or does not fit.
bool ParseDecimal(const std::string& text, int64_t* value);

// Adds to every integer and floating-point option of `app` and of its subcommands (call it once
// they are all added) a check that its value is a plain decimal number (no leading zero, which
// CLI11 reads as octal; non-negative for an unsigned option; finite for a floating-point one). A scalar option given twice is already an
// error in CLI11 (its default policy, kept).
void StrictNumbers(CLI::App& app);

}  // namespace moa::cli
