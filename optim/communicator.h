#pragma once
// The processes of one data-parallel run: MPI's ranks where iapt is built with MPI and started by
// an MPI launcher (mpirun, srun), else this process alone. Data-parallel training sums each step's
// gradients over the ranks with one reduction of one flattened buffer per dtype: MPI's on the CPU;
// on a GPU, NCCL's where each rank has a GPU of its own, else MPI's through host memory.
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace iapt::optim {

class Communicator {
 public:
  // The run's processes. The first call initialises MPI where this build has it; a build without
  // MPI that an MPI launcher started on more than one process refuses to go on (each process would
  // train the whole run on its own).
  static Communicator& world();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  // Each tensor (f32 or f64, any layout, all on one device) becomes its sum over the ranks, in
  // place: the tensors of one dtype travel in one flattened buffer, one reduction per dtype. Every rank passes the
  // same shapes in the same order. Nothing moves with one rank.
  void allreduce_sum(const std::vector<Tensor>& tensors) const;
  // The root's values on every rank (the same count everywhere).
  void broadcast(std::vector<double>& values, int root = 0) const;
  // Every rank's bytes, in rank order, on the root (one rank: its own); nothing on the others.
  std::vector<std::string> gather(const std::string& mine, int root = 0) const;
  void barrier() const;

  // Whether the build has MPI at all.
  static bool built_with_mpi();

 private:
  Communicator();
  int rank_ = 0;
  int size_ = 1;
};

// How many processes an MPI launcher (Open MPI, MPICH/PMI, SLURM's srun) says it started, read
// from its environment; 1 when none did.
int launcher_world_size();

}  // namespace iapt::optim
