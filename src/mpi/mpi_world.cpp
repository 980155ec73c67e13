#include "mpi/mpi_world.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace squish {
namespace {

// Set by Open MPI's mpirun, PMIx (srun --mpi=pmix, prterun), MPICH's hydra and PMI-2 launchers.
constexpr const char* kLauncherVariables[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                              "MPI_LOCALNRANKS"};

void check(int status, const char* what) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  throw IoError(std::string("MPI ") + what + ": " + std::string(text, static_cast<size_t>(length)));
}

}  // namespace

bool started_by_mpi_launcher() {
  for (const char* name : kLauncherVariables)
    if (std::getenv(name) != nullptr) return true;
  return false;
}

MpiWorld::MpiWorld(int* argc, char*** argv) {
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw ConfigError(
        "MPI_Init_thread failed: this process was started by an MPI launcher that its MPI library "
        "cannot join (rebuild squish against the launcher's MPI)");
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    throw ConfigError("the MPI library grants thread level " + std::to_string(provided) +
                      "; squish needs MPI_THREAD_FUNNELED (OpenMP threads between collectives)");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);  // errors become squish errors, not MPI's abort
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
  install_world(this);
}

MpiWorld::~MpiWorld() {
  install_world(nullptr);
  MPI_Finalize();
}

std::vector<std::vector<std::byte>> MpiWorld::all_gather(std::span<const std::byte> mine) {
  if (mine.size() > static_cast<size_t>(INT_MAX))
    throw ShapeError("MPI all_gather: " + std::to_string(mine.size()) + " bytes from one rank, over MPI's int count");
  const auto start = std::chrono::steady_clock::now();
  const int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<size_t>(size_)), offsets(static_cast<size_t>(size_));
  check(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "Allgather of sizes");
  long long total = 0;
  for (int r = 0; r < size_; ++r) {
    offsets[static_cast<size_t>(r)] = static_cast<int>(total);
    total += counts[static_cast<size_t>(r)];
    if (total > INT_MAX)
      throw ShapeError("MPI all_gather: " + std::to_string(total) + " bytes in all, over MPI's int count");
  }
  std::vector<std::byte> all(static_cast<size_t>(total));
  check(
      MPI_Allgatherv(mine.data(), count, MPI_BYTE, all.data(), counts.data(), offsets.data(), MPI_BYTE, MPI_COMM_WORLD),
      "Allgatherv");
  std::vector<std::vector<std::byte>> parts(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    const auto begin = all.begin() + offsets[static_cast<size_t>(r)];
    parts[static_cast<size_t>(r)].assign(begin, begin + counts[static_cast<size_t>(r)]);
  }
  ++stats_.calls;
  stats_.bytes += total;
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return parts;
}

namespace {

// MPI_Allreduce in place, in pieces MPI's int count can hold.
template <class T>
void sum_in_place_with(std::span<T> values, MPI_Datatype type, CollectiveStats& stats) {
  const auto start = std::chrono::steady_clock::now();
  constexpr size_t kPiece = size_t{1} << 30;
  for (size_t first = 0; first < values.size(); first += kPiece) {
    const int count = static_cast<int>(std::min(kPiece, values.size() - first));
    check(MPI_Allreduce(MPI_IN_PLACE, values.data() + first, count, type, MPI_SUM, MPI_COMM_WORLD), "Allreduce");
    ++stats.calls;
  }
  stats.bytes += static_cast<int64_t>(values.size_bytes());
  stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void MpiWorld::sum_in_place(std::span<float> values) { sum_in_place_with(values, MPI_FLOAT, stats_); }

void MpiWorld::sum_in_place(std::span<double> values) { sum_in_place_with(values, MPI_DOUBLE, stats_); }

void MpiWorld::abort(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; should an implementation's, this rank still ends
}

std::unique_ptr<MpiWorld> start_mpi_if_launched(int* argc, char*** argv) {
  if (!started_by_mpi_launcher()) return nullptr;
  return std::make_unique<MpiWorld>(argc, argv);
}

}  // namespace squish
