#include "kernels/cpu/denormals.h"

#include <omp.h>

#include <cstdlib>
#include <string_view>

#include "core/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#define IAPT_HAS_MXCSR 1
#endif

namespace iapt::kernels::cpu {

namespace {

void set_this_thread(bool on) {
#ifdef IAPT_HAS_MXCSR
  _MM_SET_FLUSH_ZERO_MODE(on ? _MM_FLUSH_ZERO_ON : _MM_FLUSH_ZERO_OFF);
  _MM_SET_DENORMALS_ZERO_MODE(on ? _MM_DENORMALS_ZERO_ON : _MM_DENORMALS_ZERO_OFF);
#else
  (void)on;
#endif
}

}  // namespace

bool set_flush_denormals(bool on) {
#ifdef IAPT_HAS_MXCSR
  set_this_thread(on);
  // one region as wide as any the kernels open, so each pooled worker runs it once
#pragma omp parallel num_threads(omp_get_max_threads())
  set_this_thread(on);
  return true;
#else
  (void)on;
  return false;
#endif
}

bool flushing_denormals() {
#ifdef IAPT_HAS_MXCSR
  return _MM_GET_FLUSH_ZERO_MODE() == _MM_FLUSH_ZERO_ON && _MM_GET_DENORMALS_ZERO_MODE() == _MM_DENORMALS_ZERO_ON;
#else
  return false;
#endif
}

void flush_denormals_unless_kept() {
  const char* env = std::getenv("IAPT_DENORMALS");
  const std::string_view mode = env == nullptr ? "flush" : env;
  IAPT_CHECK(mode == "flush" || mode == "keep", "IAPT_DENORMALS={}: expected 'flush' or 'keep'", mode);
  set_flush_denormals(mode == "flush");
}

}  // namespace iapt::kernels::cpu
