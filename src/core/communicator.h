// The processes one command runs on and the one collective squish needs. A run that no launcher
// started is a single process (the default world). Under mpirun or srun, main() installs the MPI
// implementation (src/mpi), and data-parallel loops split whole batches of one global order across
// ranks, gather what each computed, and fold it in rank order, so every rank ends with the result
// one process would have computed, bit for bit. Only rank 0 writes outputs, reports and progress.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

namespace squish {

// What the collectives of this run cost so far: for benchmarks and the run documents' host block.
struct CollectiveStats {
  int64_t calls = 0;
  int64_t bytes = 0;   // gathered into this rank (every rank's parts, its own included), or summed in place
  double seconds = 0;  // spent in collectives, waiting for slower ranks included
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Processes on this machine: they share its cores.
  virtual int local_size() const = 0;
  // Every rank's bytes in rank order, on every rank. A collective: every rank calls it, the same
  // number of times, in the same order (a rank with nothing to send sends an empty span).
  virtual std::vector<std::vector<std::byte>> all_gather(std::span<const std::byte> mine) = 0;
  // Every rank's values added element by element, in place, on every rank (MPI_Allreduce): for
  // gradients, where one process's bits are not promised (the shares' GEMMs differ anyway); ranks get
  // the same result from Open MPI's and MPICH's algorithms, which the trainer checks.
  virtual void sum_in_place(std::span<float> values) = 0;
  virtual void sum_in_place(std::span<double> values) = 0;
  // Ends every rank of the run with this exit code (a rank that failed calls it).
  [[noreturn]] virtual void abort(int exit_code) = 0;
  virtual CollectiveStats stats() const { return {}; }
};

// The communicator of this run: one process unless install_world() was given another.
Communicator& world();
// `c` outlives its installation; nullptr reinstalls the single process.
void install_world(Communicator* c);

// world().abort(exit_code), for callers that need the compiler to know it does not return.
[[noreturn]] void end_every_rank(int exit_code);

// Whether this rank writes files, stdout and progress (rank 0).
inline bool is_output_rank() { return world().rank() == 0; }

// Unit `u` of a global order (a batch of a length-sorted data set) runs on rank u mod size: round
// robin keeps ranks' loads alike when the order is sorted by length.
inline bool runs_here(int64_t unit) { return unit % world().size() == world().rank(); }

// This rank's share of `items` (in a global order) cut into consecutive batches of `batch_size`: the
// batches runs_here() gives it, as [first, first + count) ranges of that order.
struct BatchRange {
  size_t first, count;
};
inline std::vector<BatchRange> batches_here(size_t items, size_t batch_size) {
  std::vector<BatchRange> mine;
  for (size_t first = 0; first < items; first += batch_size)
    if (runs_here(static_cast<int64_t>(first / batch_size)))
      mine.push_back({first, std::min(batch_size, items - first)});
  return mine;
}

// Every rank's values concatenated in rank order, on every rank.
template <class T>
std::vector<T> all_gather_values(std::span<const T> mine) {
  static_assert(std::is_trivially_copyable_v<T>);
  const auto parts = world().all_gather(std::as_bytes(mine));
  std::vector<T> out;
  for (const auto& part : parts) {
    const size_t n = part.size() / sizeof(T);
    out.resize(out.size() + n);
    if (n > 0) std::memcpy(out.data() + out.size() - n, part.data(), n * sizeof(T));
  }
  return out;
}

// What each rank computed for its items of a global order, on every rank: `mine` are this rank's
// item numbers, `my_values` their values back to back, `width(item)` values an item; place(item,
// values) is called for every rank's items, in rank order.
template <class T, class Width, class Place>
void gather_items(std::span<const uint64_t> mine, std::span<const T> my_values, Width width, Place place) {
  const std::vector<uint64_t> items = all_gather_values<uint64_t>(mine);
  const std::vector<T> values = all_gather_values<T>(my_values);
  size_t at = 0;
  for (uint64_t item : items) {
    place(item, values.data() + at);
    at += width(item);
  }
}

}  // namespace squish
