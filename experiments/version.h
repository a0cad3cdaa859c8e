#pragma once
// What made a result: iapt's version and the source revision it was built from.
#include <string>

namespace iapt {

// "0.1 (revision d473b0a1b2c3)", "-dirty" where the tree had uncommitted changes, "unknown" outside
// a git checkout.
std::string version_string();

}  // namespace iapt
