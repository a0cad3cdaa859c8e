"""PyTorch's rounding of f32 and f64 values to bfloat16 and float16, for tests/fixtures/half.safetensors:
x32 [N] f32 values chosen to exercise rounding (ties to even both ways, values just off a tie,
subnormals of both 16-bit types, the largest finite values and what overflows, infinities, signed
zeros) and a spread of random values over many exponents; x32_bf16 and x32_f16 are torch's
conversions of them. x64 [M] f64 values whose rounding differs between converting directly and
through f32 (PyTorch goes through f32), with x64_bf16 and x64_f16.
Rerun with  /usr/bin/python3 tests/reference/make_half_fixtures.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_llama_fixtures import OUT_DIR, write_safetensors  # noqa: E402


def edge_values():
    one = 1.0
    v = [0.0, -0.0, one, -one, float("inf"), float("-inf")]
    # bfloat16 keeps 7 fraction bits: ulp(1) = 2^-7, ties at odd multiples of 2^-8
    for k in range(0, 4):
        v += [one + (2 * k + 1) * 2.0**-8, -(one + (2 * k + 1) * 2.0**-8)]
        v += [one + (2 * k + 1) * 2.0**-8 + 2.0**-20, one + (2 * k + 1) * 2.0**-8 - 2.0**-20]
    # float16 keeps 10 fraction bits: ties at odd multiples of 2^-11
    for k in range(0, 4):
        v += [one + (2 * k + 1) * 2.0**-11, -(one + (2 * k + 1) * 2.0**-11)]
        v += [one + (2 * k + 1) * 2.0**-11 + 2.0**-22, one + (2 * k + 1) * 2.0**-11 - 2.0**-22]
    # float16: largest finite 65504, half-way to the next (65520) overflows, just below does not
    v += [65504.0, 65519.0, 65520.0, 70000.0, -65520.0, 1e10]
    # float16 subnormals (2^-24 smallest) and underflow; bfloat16 keeps f32's range
    v += [2.0**-24, 3 * 2.0**-25, 2.0**-25, 2.0**-26, 5.96e-8, 6.1e-5, 6.0e-5, -2.0**-24]
    # bfloat16 near f32's limits and f32 subnormals
    v += [3.3895e38, 3.4e38, -3.4e38, 1.17549435e-38, 1e-39, 1e-45]
    return v


def main():
    torch.manual_seed(5)
    rand = torch.randn(512, dtype=torch.float64) * torch.pow(2.0, torch.randint(-30, 30, (512,)).double())
    x32 = torch.cat([torch.tensor(edge_values(), dtype=torch.float32), rand.float()])
    # f64 values a hair above a 16-bit tie: rounded to f32 first they become the tie itself
    x64 = torch.tensor([1 + 2.0**-8 + 2.0**-40, 1 + 3 * 2.0**-8 - 2.0**-40, 1 + 2.0**-11 + 2.0**-40,
                        -(1 + 2.0**-8 + 2.0**-40), 0.1, 1e300, 1e-300], dtype=torch.float64)
    entries = [("x32", x32), ("x32_bf16", x32.to(torch.bfloat16)), ("x32_f16", x32.to(torch.float16)),
               ("x64", x64), ("x64_bf16", x64.to(torch.bfloat16)), ("x64_f16", x64.to(torch.float16))]
    write_safetensors(os.path.join(OUT_DIR, "half.safetensors"), entries,
                      {"generator": "tests/reference/make_half_fixtures.py", "torch": torch.__version__})
    print("wrote tests/fixtures/half.safetensors")


if __name__ == "__main__":
    main()
