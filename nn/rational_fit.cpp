#include "nn/rational_fit.h"

#include <Eigen/Dense>
#include <cmath>

#include "core/error.h"
#include "kernels/rational_math.h"

namespace iapt::nn {

const std::vector<std::string>& named_activations() {
  static const std::vector<std::string> names{"gelu", "relu", "leaky_relu", "tanh", "sigmoid", "swish", "identity"};
  return names;
}

double named_activation(const std::string& name, double x) {
  if (name == "gelu") return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  if (name == "relu") return x > 0 ? x : 0;
  if (name == "leaky_relu") return x > 0 ? x : 0.01 * x;
  if (name == "tanh") return std::tanh(x);
  if (name == "sigmoid") return 1 / (1 + std::exp(-x));
  if (name == "swish") return x / (1 + std::exp(-x));
  if (name == "identity") return x;
  throw Error(fmt::format("unknown activation '{}' (known: {})", name, fmt::join(named_activations(), ", ")));
}

RationalVersion parse_rational_version(const std::string& name) {
  if (name == "A") return RationalVersion::A;
  if (name == "B") return RationalVersion::B;
  if (name == "C") return RationalVersion::C;
  if (name == "N") return RationalVersion::N;
  throw Error(fmt::format("unknown rational version '{}' (A, B, C or N)", name));
}

const char* rational_version_name(RationalVersion v) {
  switch (v) {
    case RationalVersion::A: return "A";
    case RationalVersion::B: return "B";
    case RationalVersion::C: return "C";
    case RationalVersion::N: return "N";
  }
  return "?";
}

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

struct Residuals {
  VectorXd r;   // R(x_k) - f(x_k)
  MatrixXd j;   // d r_k / d theta, theta = (a, b)
};

Residuals residuals(const std::vector<double>& xs, const std::vector<double>& fs, const VectorXd& theta, int m1, int n,
                    RationalVersion v) {
  Residuals out{VectorXd(xs.size()), MatrixXd(xs.size(), m1 + n)};
  const double* a = theta.data();
  const double* b = theta.data() + m1;
  for (size_t k = 0; k < xs.size(); ++k) {
    const double x = xs[k];
    const kernels::RationalPoint p = kernels::rational_point(x, a, m1, b, n, v);
    out.r(k) = p.p / p.q - fs[k];
    double xj = 1;
    for (int j = 0; j < m1; ++j, xj *= x) out.j(k, j) = xj / p.q;
    for (int i = 0; i < n; ++i) out.j(k, m1 + i) = -p.p / (p.q * p.q) * kernels::rational_dq_db(x, i, b, p, v);
  }
  return out;
}

}  // namespace

RationalFit fit_rational(const std::string& activation, int deg_num, int deg_den, RationalVersion v, double lo,
                         double hi, int points) {
  IAPT_CHECK(deg_num >= 0 && deg_num <= kernels::kMaxRationalDegree && deg_den >= 0 &&
                 deg_den <= kernels::kMaxRationalDegree,
             "rational degrees ({}, {}) outside [0, {}]", deg_num, deg_den, kernels::kMaxRationalDegree);
  IAPT_CHECK(points > deg_num + deg_den + 1 && hi > lo, "fit_rational: {} points on [{}, {}]", points, lo, hi);
  const int m1 = deg_num + 1, n = deg_den;
  std::vector<double> xs(points), fs(points);
  for (int k = 0; k < points; ++k) {
    xs[k] = lo + (hi - lo) * k / (points - 1);
    fs[k] = named_activation(activation, xs[k]);
  }

  // Linearised start: P(x) - f(x) * D(x) = c0 * f(x), with D the version's sum of powers and
  // c0 its constant (1, or 0.1 for C).
  const bool c_form = v == RationalVersion::C;
  const double c0 = c_form ? 0.1 : 1.0;
  MatrixXd lin(points, m1 + n);
  VectorXd rhs(points);
  for (int k = 0; k < points; ++k) {
    double xj = 1;
    for (int j = 0; j < m1; ++j, xj *= xs[k]) lin(k, j) = xj;
    double xi = c_form ? 1.0 : xs[k];
    for (int i = 0; i < n; ++i, xi *= xs[k]) lin(k, m1 + i) = -fs[k] * xi;
    rhs(k) = c0 * fs[k];
  }
  VectorXd theta = lin.colPivHouseholderQr().solve(rhs);
  if (v == RationalVersion::A)
    for (int i = 0; i < n; ++i) theta(m1 + i) = std::abs(theta(m1 + i));

  // Levenberg-Marquardt on the version's own residual.
  Residuals cur = residuals(xs, fs, theta, m1, n, v);
  double err = cur.r.squaredNorm(), lambda = 1e-3;
  for (int it = 0; it < 300 && err > 1e-28; ++it) {
    MatrixXd jtj = cur.j.transpose() * cur.j;
    VectorXd jtr = cur.j.transpose() * cur.r;
    MatrixXd damped = jtj;
    for (int d = 0; d < damped.rows(); ++d) damped(d, d) += lambda * (jtj(d, d) + 1e-12);
    VectorXd step = damped.ldlt().solve(-jtr);
    VectorXd trial = theta + step;
    Residuals next = residuals(xs, fs, trial, m1, n, v);
    const double next_err = next.r.squaredNorm();
    if (std::isfinite(next_err) && next_err < err) {
      const bool converged = err - next_err < 1e-12 * err;
      theta = trial, cur = std::move(next), err = next_err;
      lambda = std::max(lambda / 3, 1e-12);
      if (converged) break;
    } else {
      lambda *= 4;
      if (lambda > 1e12) break;
    }
  }

  RationalFit fit;
  fit.numerator.assign(theta.data(), theta.data() + m1);
  fit.denominator.assign(theta.data() + m1, theta.data() + m1 + n);
  fit.rms_error = std::sqrt(err / points);
  fit.max_error = cur.r.cwiseAbs().maxCoeff();
  return fit;
}

}  // namespace iapt::nn
