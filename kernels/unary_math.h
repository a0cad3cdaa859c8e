#pragma once
// The value and derivative of every unary op, shared by the CPU and CUDA kernels so that both
// backends compute the same formulas. Float overloads call the float C functions (expf, ...),
// which exist on the host and in device code.
#include <cmath>

#include "core/backend.h"
#include "core/rng.h"  // IAPT_HD

namespace iapt::kernels {

IAPT_HD float m_exp(float x) { return expf(x); }
IAPT_HD double m_exp(double x) { return exp(x); }
IAPT_HD float m_log(float x) { return logf(x); }
IAPT_HD double m_log(double x) { return log(x); }
IAPT_HD float m_sqrt(float x) { return sqrtf(x); }
IAPT_HD double m_sqrt(double x) { return sqrt(x); }
IAPT_HD float m_tanh(float x) { return tanhf(x); }
IAPT_HD double m_tanh(double x) { return tanh(x); }
IAPT_HD float m_erf(float x) { return erff(x); }
IAPT_HD double m_erf(double x) { return erf(x); }
IAPT_HD float m_pow(float x, float p) { return powf(x, p); }
IAPT_HD double m_pow(double x, double p) { return pow(x, p); }
IAPT_HD float m_abs(float x) { return fabsf(x); }
IAPT_HD double m_abs(double x) { return fabs(x); }

template <class T>
IAPT_HD T unary_value(UnaryOp op, T x, T p) {
  const T kInvSqrt2 = T(0.70710678118654752440);
  const T kSqrt2OverPi = T(0.79788456080286535588);
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return m_exp(x);
    case UnaryOp::Log: return m_log(x);
    case UnaryOp::Sqrt: return m_sqrt(x);
    case UnaryOp::Rsqrt: return T(1) / m_sqrt(x);
    case UnaryOp::Abs: return m_abs(x);
    case UnaryOp::Sign: return T((x > T(0)) - (x < T(0)));
    case UnaryOp::Tanh: return m_tanh(x);
    case UnaryOp::Sigmoid: return T(1) / (T(1) + m_exp(-x));
    case UnaryOp::Relu: return x > T(0) ? x : T(0);
    case UnaryOp::GeluErf: return T(0.5) * x * (T(1) + m_erf(x * kInvSqrt2));
    case UnaryOp::GeluTanh: return T(0.5) * x * (T(1) + m_tanh(kSqrt2OverPi * (x + T(0.044715) * x * x * x)));
    case UnaryOp::Silu: return x / (T(1) + m_exp(-x));
    case UnaryOp::Pow: return m_pow(x, p);
    case UnaryOp::AddScalar: return x + p;
    case UnaryOp::MulScalar: return x * p;
  }
  return x;
}

// d f(x) / dx, given x and y = f(x)
template <class T>
IAPT_HD T unary_derivative(UnaryOp op, T x, T y, T p) {
  const T kInvSqrt2 = T(0.70710678118654752440);
  const T kInvSqrt2Pi = T(0.39894228040143267794);
  const T kSqrt2OverPi = T(0.79788456080286535588);
  switch (op) {
    case UnaryOp::Neg: return T(-1);
    case UnaryOp::Exp: return y;
    case UnaryOp::Log: return T(1) / x;
    case UnaryOp::Sqrt: return T(0.5) / y;
    case UnaryOp::Rsqrt: return T(-0.5) * y * y * y;
    case UnaryOp::Abs: return T((x > T(0)) - (x < T(0)));
    case UnaryOp::Sign: return T(0);
    case UnaryOp::Tanh: return T(1) - y * y;
    case UnaryOp::Sigmoid: return y * (T(1) - y);
    case UnaryOp::Relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::GeluErf: {
      T cdf = T(0.5) * (T(1) + m_erf(x * kInvSqrt2));
      return cdf + x * kInvSqrt2Pi * m_exp(T(-0.5) * x * x);
    }
    case UnaryOp::GeluTanh: {
      T t = m_tanh(kSqrt2OverPi * (x + T(0.044715) * x * x * x));
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * kSqrt2OverPi * (T(1) + T(3 * 0.044715) * x * x);
    }
    case UnaryOp::Silu: {
      T s = T(1) / (T(1) + m_exp(-x));
      return s * (T(1) + x * (T(1) - s));
    }
    case UnaryOp::Pow: return p * m_pow(x, p - T(1));
    case UnaryOp::AddScalar: return T(1);
    case UnaryOp::MulScalar: return p;
  }
  return T(0);
}

template <class T>
IAPT_HD T binary_value(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Eq: return T(a == b);
    case BinaryOp::Lt: return T(a < b);
    case BinaryOp::Gt: return T(a > b);
  }
  return T(0);
}

}  // namespace iapt::kernels
