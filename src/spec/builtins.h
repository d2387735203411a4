// moa spec — the built-in specs: attention in its common PyTorch spellings and the worked
// examples of MOA_RULES.md, as Python source a user could have written (and PyTorch can run).
// `moa derive --builtin NAME` parses BuiltinSource(NAME) with spec::Parse.
#pragma once

#include <string>
#include <vector>

namespace moa::spec {

// The names, in a fixed order.
std::vector<std::string> BuiltinNames();
// The Python source of a built-in spec; an unknown name is a moa::Error listing the known ones.
const std::string& BuiltinSource(const std::string& name);

}  // namespace moa::spec
