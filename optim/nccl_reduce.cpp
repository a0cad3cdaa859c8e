#include "optim/nccl_reduce.h"

#include <mpi.h>
#include <nccl.h>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/cuda/cuda_context.h"

namespace iapt::optim {

namespace {

void check_nccl(ncclResult_t code, const char* what, ncclComm_t comm = nullptr) {
  if (code == ncclSuccess || code == ncclInProgress) return;
  std::string detail = comm != nullptr ? ncclGetLastError(comm) : "";
  throw Error(fmt::format("NCCL {}: {}{}{}", what, ncclGetErrorString(code), detail.empty() ? "" : ": ", detail));
}

struct Nccl {
  bool usable = false;
  ncclComm_t comm = nullptr;  // never destroyed: the process ends with it, after MPI's last call
};

Nccl& nccl() {
  static Nccl* state = [] {
    auto* s = new Nccl();
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    // the node's ranks and their GPUs: NCCL takes one rank per GPU
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    int node_size = 1;
    MPI_Comm_size(node, &node_size);
    constexpr int kBusIdLength = 32;
    char bus_id[kBusIdLength] = {};
    kernels::cuda::stream();  // the CUDA context on this rank's device
    if (cudaDeviceGetPCIBusId(bus_id, kBusIdLength, kernels::cuda::device()) != cudaSuccess) bus_id[0] = '?';
    std::vector<char> ids(static_cast<size_t>(node_size) * kBusIdLength);
    MPI_Allgather(bus_id, kBusIdLength, MPI_CHAR, ids.data(), kBusIdLength, MPI_CHAR, node);
    MPI_Comm_free(&node);
    std::set<std::string> distinct;
    for (int r = 0; r < node_size; ++r) distinct.insert(std::string(ids.data() + r * kBusIdLength));
    int own_gpu = static_cast<int>(distinct.size()) == node_size && bus_id[0] != '?' ? 1 : 0, all_own = 0;
    MPI_Allreduce(&own_gpu, &all_own, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    s->usable = all_own == 1;
    if (!s->usable) return s;
    ncclUniqueId id;
    if (rank == 0) check_nccl(ncclGetUniqueId(&id), "unique id");
    MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
    check_nccl(ncclCommInitRank(&s->comm, size, id, rank), "communicator");
    return s;
  }();
  return *state;
}

}  // namespace

bool nccl_usable() { return nccl().usable; }

void nccl_allreduce_sum(void* data, int64_t count, DType dtype) {
  IAPT_CHECK(dtype == DType::F32 || dtype == DType::F64, "NCCL allreduce: {} (f32 or f64)", dtype_name(dtype));
  Nccl& n = nccl();
  IAPT_CHECK(n.usable, "NCCL allreduce: two ranks share a GPU here, which NCCL refuses");
  check_nccl(ncclAllReduce(data, data, static_cast<size_t>(count), dtype == DType::F32 ? ncclFloat32 : ncclFloat64,
                           ncclSum, n.comm, kernels::cuda::stream()),
             "allreduce", n.comm);
}

}  // namespace iapt::optim
