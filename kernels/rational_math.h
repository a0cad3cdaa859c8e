#pragma once
// The rational function R(x) = P(x) / Q(x) of learned activations, one element at a time, shared
// by the CPU and CUDA kernels and by the least-squares fit. With a_0..a_m the numerator and
// b the deg_den denominator coefficients:
//   P = sum_j a_j x^j
//   A: Q = 1 + sum_{i=1..n} |b_i| |x|^i        B: Q = 1 + |S|,   S = sum_{i=1..n} b_i x^i
//   C: Q = 0.1 + |S0|, S0 = sum_{i=0..n-1} b_i x^i                 N: Q = 1 + S (no safeguard)
// Derivatives: dR/da_j = x^j / Q;  dR/db = -(P / Q^2) dQ/db;  dR/dx = (P' Q - P Q') / Q^2.
#include "core/backend.h"
#include "core/rng.h"  // IAPT_HD

namespace iapt::kernels {

constexpr int kMaxRationalDegree = 16;

struct RationalPoint {
  double p, q;        // P(x), Q(x)
  double dp, dq;      // P'(x), Q'(x)
  double s_sign;      // sign of S (B, C) used in dQ/db
};

IAPT_HD double sign_of(double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); }

// Evaluates P, Q and their x-derivatives at x.
template <class T>
IAPT_HD RationalPoint rational_point(double x, const T* a, int m1, const T* b, int n, RationalVersion version) {
  RationalPoint r{0, 0, 0, 0, 0};
  double xp = 1.0;  // x^j
  for (int j = 0; j < m1; ++j) {
    r.p += static_cast<double>(a[j]) * xp;
    if (j + 1 < m1) r.dp += static_cast<double>(j + 1) * static_cast<double>(a[j + 1]) * xp;
    xp *= x;
  }
  const double ax = x < 0 ? -x : x, sx = sign_of(x);
  double s = 0, ds = 0;
  switch (version) {
    case RationalVersion::A: {
      double axp = ax;  // |x|^i, i from 1
      double axm1 = 1;  // |x|^(i-1)
      r.q = 1;
      for (int i = 1; i <= n; ++i) {
        const double bi = static_cast<double>(b[i - 1]), abi = bi < 0 ? -bi : bi;
        r.q += abi * axp;
        r.dq += abi * i * axm1 * sx;
        axm1 = axp;
        axp *= ax;
      }
      return r;
    }
    case RationalVersion::B:
    case RationalVersion::N: {
      double xp1 = x, xm1 = 1;  // x^i and x^(i-1), i from 1
      for (int i = 1; i <= n; ++i) {
        const double bi = static_cast<double>(b[i - 1]);
        s += bi * xp1;
        ds += bi * i * xm1;
        xm1 = xp1;
        xp1 *= x;
      }
      if (version == RationalVersion::N) {
        r.q = 1 + s;
        r.dq = ds;
        r.s_sign = 1;
      } else {
        r.s_sign = sign_of(s);
        r.q = 1 + (s < 0 ? -s : s);
        r.dq = r.s_sign * ds;
      }
      return r;
    }
    case RationalVersion::C: {
      double xi = 1, xm1 = 0;  // x^i and i x^(i-1) handled below, i from 0
      for (int i = 0; i < n; ++i) {
        const double bi = static_cast<double>(b[i]);
        s += bi * xi;
        if (i > 0) ds += bi * i * xm1;
        xm1 = xi;
        xi *= x;
      }
      r.s_sign = sign_of(s);
      r.q = 0.1 + (s < 0 ? -s : s);
      r.dq = r.s_sign * ds;
      return r;
    }
  }
  return r;
}

// dQ/db_k for the k-th denominator coefficient (0-based), given x and the evaluated point.
template <class T>
IAPT_HD double rational_dq_db(double x, int k, const T* b, const RationalPoint& r, RationalVersion version) {
  const double ax = x < 0 ? -x : x;
  double xp = 1;
  switch (version) {
    case RationalVersion::A: {  // coefficient k multiplies |x|^(k+1)
      for (int i = 0; i <= k; ++i) xp *= ax;
      return sign_of(static_cast<double>(b[k])) * xp;
    }
    case RationalVersion::B:
    case RationalVersion::N: {  // x^(k+1)
      for (int i = 0; i <= k; ++i) xp *= x;
      return r.s_sign * xp;
    }
    case RationalVersion::C: {  // x^k
      for (int i = 0; i < k; ++i) xp *= x;
      return r.s_sign * xp;
    }
  }
  return 0;
}

}  // namespace iapt::kernels
