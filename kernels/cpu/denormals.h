#pragma once
// Subnormal floats (f32 below 2^-126, 1.2e-38) take a microcode path on x86 cores: a product that
// reads or makes many runs several times slower. They arise in training where a softmax saturates
// or a gradient fades through layers: in one IAPT step on LLaMA-2 7B's width, an sgemm over
// gradients holding 1.5% subnormals ran at 36 GFLOP/s, the same shape without them at 220.
// Flushing them to zero (FTZ for results, DAZ for inputs; PyTorch's torch.set_flush_denormal)
// costs nothing a model notices: 1e-38 against activations and gradients of 1e-8 and up.
namespace iapt::kernels::cpu {

// Flushes (true) or keeps (false, IEEE arithmetic, the default of a fresh process) subnormals on
// the calling thread and on every OpenMP worker, which the CPU kernels and OpenBLAS share. Threads
// made later inherit the calling thread's mode. Returns false where the CPU has no such mode
// (outside x86-64), leaving arithmetic as it is.
bool set_flush_denormals(bool on);
// Whether the calling thread flushes them.
bool flushing_denormals();
// The programs that train and time (the iapt command, the benchmarks) call this at start: flush,
// unless the environment sets IAPT_DENORMALS=keep (IAPT_DENORMALS=flush is the default said aloud).
void flush_denormals_unless_kept();

}  // namespace iapt::kernels::cpu
