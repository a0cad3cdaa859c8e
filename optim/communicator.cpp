#include "optim/communicator.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"

#ifdef IAPT_HAS_MPI
#include <mpi.h>
#endif
#ifdef IAPT_HAS_NCCL
#include "optim/nccl_reduce.h"
#endif

namespace iapt::optim {

namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : 0;
}

#ifdef IAPT_HAS_MPI
void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, message, &length);
  throw Error(std::string("MPI ") + what + ": " + std::string(message, static_cast<size_t>(length)));
}

// MPI ends with the process, after every static destructor that might still communicate.
void finalize_mpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

MPI_Datatype mpi_type(DType t) {
  IAPT_CHECK(t == DType::F32 || t == DType::F64, "allreduce: {} tensors are not reduced (f32 or f64)", dtype_name(t));
  return t == DType::F32 ? MPI_FLOAT : MPI_DOUBLE;
}
#endif

}  // namespace

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"})
    if (const int n = env_int(name); n > 0) return n;
  return 1;
}

bool Communicator::built_with_mpi() {
#ifdef IAPT_HAS_MPI
  return true;
#else
  return false;
#endif
}

Communicator::Communicator() {
#ifdef IAPT_HAS_MPI
  // A process alone stays so without initialising MPI (which would look for a launcher's daemon);
  // one of several joins the launcher's world.
  if (launcher_world_size() > 1) {
    int provided = 0;
    // the kernels' OpenMP threads never call MPI: the main thread does all of it
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "initialisation");
    std::atexit(finalize_mpi);
    check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "rank");
    check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "size");
  }
#else
  const int launched = launcher_world_size();
  IAPT_CHECK(launched <= 1,
             "an MPI launcher started {} processes, but this build of iapt has no MPI: each would train the whole run "
             "on its own. Install Open MPI (scripts/install-deps.sh does) and rebuild, or start one process",
             launched);
#endif
}

Communicator& Communicator::world() {
  static Communicator w;
  return w;
}

void Communicator::allreduce_sum(const std::vector<Tensor>& tensors) const {
  if (size_ == 1) return;
#ifdef IAPT_HAS_MPI
  // refused before any rank reduces anything, so that no rank waits on the others
  const Device device = tensors.empty() ? Device::CPU : tensors.front().device();
  for (const Tensor& t : tensors) {
    IAPT_CHECK(t.device() == device, "allreduce: tensors on {} and on {} (one device per reduction)",
               device_name(device), device_name(t.device()));
    mpi_type(t.dtype());
  }
  for (DType dt : {DType::F32, DType::F64}) {
    int64_t total = 0;
    for (const Tensor& t : tensors)
      if (t.dtype() == dt) total += t.numel();
    if (total == 0) continue;
    // one buffer for every tensor of this dtype, filled and emptied in the caller's order
    Tensor flat = empty({total}, dt, device);
    int64_t at = 0;
    for (const Tensor& t : tensors)
      if (t.dtype() == dt) flat.narrow(0, at, t.numel()).copy_(t.reshape({t.numel()})), at += t.numel();
    IAPT_CHECK(total <= INT32_MAX, "allreduce: {} values in one buffer (at most {})", total, INT32_MAX);
    bool summed = false;
#ifdef IAPT_HAS_NCCL
    if (device == Device::CUDA && nccl_usable()) nccl_allreduce_sum(flat.raw_data(), total, dt), summed = true;
#endif
    if (!summed) {
      // MPI sums host memory: a device's buffer goes through it (ranks sharing a GPU, or no NCCL)
      Tensor host = device == Device::CPU ? flat : flat.to(Device::CPU);
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, host.raw_data(), static_cast<int>(total), mpi_type(dt), MPI_SUM,
                              MPI_COMM_WORLD),
                "allreduce");
      if (device != Device::CPU) flat = host.to(device);
    }
    at = 0;
    for (const Tensor& t : tensors)
      if (t.dtype() == dt) t.copy_(flat.narrow(0, at, t.numel()).view(t.shape())), at += t.numel();
  }
#endif
}

void Communicator::broadcast(std::vector<double>& values, int root) const {
  if (size_ == 1) return;
#ifdef IAPT_HAS_MPI
  check_mpi(MPI_Bcast(values.data(), static_cast<int>(values.size()), MPI_DOUBLE, root, MPI_COMM_WORLD), "broadcast");
#else
  (void)values, (void)root;
#endif
}

std::vector<std::string> Communicator::gather(const std::string& mine, int root) const {
  if (size_ == 1) return {mine};
#ifdef IAPT_HAS_MPI
  IAPT_CHECK(mine.size() <= INT32_MAX, "gather: {} bytes from one rank (at most {})", mine.size(), INT32_MAX);
  const int length = static_cast<int>(mine.size());
  std::vector<int> lengths(rank_ == root ? size_ : 0), offsets(lengths.size());
  check_mpi(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "gather");
  int64_t total = 0;
  for (size_t r = 0; r < lengths.size(); ++r) offsets[r] = static_cast<int>(total), total += lengths[r];
  IAPT_CHECK(total <= INT32_MAX, "gather: {} bytes from the ranks together (at most {})", total, INT32_MAX);
  std::string all(static_cast<size_t>(total), '\0');
  check_mpi(MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, root,
                        MPI_COMM_WORLD),
            "gather");
  std::vector<std::string> out;
  for (size_t r = 0; r < lengths.size(); ++r) out.push_back(all.substr(static_cast<size_t>(offsets[r]), static_cast<size_t>(lengths[r])));
  return out;
#else
  (void)root;
  return {mine};
#endif
}

void Communicator::barrier() const {
  if (size_ == 1) return;
#ifdef IAPT_HAS_MPI
  check_mpi(MPI_Barrier(MPI_COMM_WORLD), "barrier");
#endif
}

}  // namespace iapt::optim
