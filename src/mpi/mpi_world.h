// The MPI implementation of core/communicator.h, on the standard MPI-3.1 C API only, so a site can
// rebuild squish against its own MPI (Open MPI, MPICH, vendor builds). Its own library, linked by
// the CLI alone; -DSQUISH_WITH_MPI=OFF leaves it out and every run is one process.
#pragma once

#include <memory>

#include "core/communicator.h"

namespace squish {

// Whether a launcher (mpirun, mpiexec, srun --mpi=pmix/pmi2) started this process: MPI is
// initialised only then, since a singleton MPI_Init costs ~0.3 s and needs no MPI at all.
bool started_by_mpi_launcher();

// MPI_COMM_WORLD, initialised with MPI_THREAD_FUNNELED (only the main thread calls MPI; OpenMP
// threads compute between collectives) and installed as world(); finalised and uninstalled when it
// dies. ConfigError when MPI fails to initialise or grants less than FUNNELED.
class MpiWorld final : public Communicator {
 public:
  MpiWorld(int* argc, char*** argv);
  ~MpiWorld() override;
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  std::vector<std::vector<std::byte>> all_gather(std::span<const std::byte> mine) override;
  void sum_in_place(std::span<float> values) override;
  void sum_in_place(std::span<double> values) override;
  [[noreturn]] void abort(int exit_code) override;
  CollectiveStats stats() const override { return stats_; }

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
  CollectiveStats stats_;
};

// An MpiWorld when a launcher started this process, else nullptr (world() stays one process).
std::unique_ptr<MpiWorld> start_mpi_if_launched(int* argc, char*** argv);

}  // namespace squish
