#pragma once
// NCCL's sum over MPI's ranks of a CUDA buffer, for the data-parallel reduction of a run on GPUs
// (optim/communicator.cpp). Compiled where the build has CUDA, MPI and NCCL (IAPT_HAS_NCCL).
#include <cstdint>

#include "core/dtype.h"

namespace iapt::optim {

// Whether NCCL can sum this run's buffers: false where two ranks of one node compute on one GPU,
// which NCCL refuses ("Duplicate GPU detected"); the caller then sums through host memory. Every
// rank gets the same answer. The first call (on every rank at once) asks the node's ranks for their
// GPUs' PCI bus ids and makes the NCCL communicator, rank 0's unique id broadcast over MPI.
bool nccl_usable();

// Sums `count` values of `dtype` (f32 or f64) at the device pointer `data` over the ranks, in
// place, queued on the CUDA backend's stream (work after it on that stream sees the sum).
void nccl_allreduce_sum(void* data, int64_t count, DType dtype);

}  // namespace iapt::optim
