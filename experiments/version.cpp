#include "experiments/version.h"

#include "iapt_revision.h"

namespace iapt {

std::string version_string() { return std::string(IAPT_VERSION) + " (revision " + IAPT_REVISION + ")"; }

}  // namespace iapt
