#include "nn/skip_init.h"

namespace iapt::nn {

namespace {
thread_local bool skipping = false;
}  // namespace

SkipInit::SkipInit() : previous_(skipping) { skipping = true; }
SkipInit::~SkipInit() { skipping = previous_; }
bool SkipInit::active() { return skipping; }

}  // namespace iapt::nn
