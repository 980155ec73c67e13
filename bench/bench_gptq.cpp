// Google Benchmark runs of GPTQ's two costs at BERT-base shapes:
//   hessian/sgemm/K     HessianAccumulator::add (oneDNN fp32 chunks summed in double), 100k rows of width K
//   hessian/eigen/K     the same Σ x xᵀ as one double-precision Eigen rank update with the project's flags
//                       (no -march), the alternative the accumulator was measured against
//   gptq/N/K            gptq_quantize, 4 bits, group 64, block 128, for each Linear of a BERT-base layer
// GFLOP is counted as a rate (GFLOP/s): 2·rows·K² for a Hessian, N·K² for GPTQ's updates.
// Flags: Google Benchmark's own (--benchmark_filter=...). Threads: OMP_NUM_THREADS.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <random>
#include <vector>

#include "quant/gptq.h"
#include "quant/hessian.h"

namespace squish {
namespace {

constexpr int64_t kRows = 100'000;
// Rows are added in batches of this many, as calibration adds one forward's tokens at a time.
constexpr int64_t kBatchRows = 10'000;

std::vector<float> random_values(int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(static_cast<size_t>(count));
  for (float& v : out) v = normal(rng);
  return out;
}

void hessian_sgemm(benchmark::State& state) {
  const int64_t k = state.range(0);
  const std::vector<float> x = random_values(kBatchRows * k, 1);
  for (auto _ : state) {
    HessianAccumulator h(k);
    for (int64_t added = 0; added < kRows; added += kBatchRows) h.add(x.data(), kBatchRows);
    benchmark::DoNotOptimize(h.rows());
  }
  state.counters["GFLOP"] = benchmark::Counter(2e-9 * kRows * k * k, benchmark::Counter::kIsIterationInvariantRate);
}

void hessian_eigen(benchmark::State& state) {
  const int64_t k = state.range(0);
  const std::vector<float> values = random_values(kBatchRows * k, 1);
  const Eigen::MatrixXd x =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(values.data(), kBatchRows, k)
          .cast<double>();
  for (auto _ : state) {
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(k, k);
    for (int64_t added = 0; added < kRows; added += kBatchRows) sum.selfadjointView<Eigen::Upper>().rankUpdate(x.transpose());
    benchmark::DoNotOptimize(sum.data());
  }
  state.counters["GFLOP"] = benchmark::Counter(2e-9 * kRows * k * k, benchmark::Counter::kIsIterationInvariantRate);
}

void gptq(benchmark::State& state) {
  const int64_t n = state.range(0), k = state.range(1);
  // Twice as many rows as inputs: a full-rank Hessian, which is all GPTQ's cost depends on.
  HessianAccumulator h(k);
  const std::vector<float> x = random_values(2 * k * k, 2);
  h.add(x.data(), 2 * k);
  const std::vector<float> w = random_values(n * k, 3);
  GptqOptions options;
  for (auto _ : state) benchmark::DoNotOptimize(gptq_quantize(w.data(), n, k, h, options).codes.data());
  state.counters["GFLOP"] = benchmark::Counter(1e-9 * n * k * k, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(hessian_sgemm)->Name("hessian/sgemm")->Arg(768)->Arg(1536)->Arg(3072)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(hessian_eigen)->Name("hessian/eigen")->Arg(1536)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(gptq)
    ->Name("gptq")
    ->Args({768, 768})
    ->Args({2304, 768})
    ->Args({3072, 768})
    ->Args({768, 3072})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
}  // namespace squish

BENCHMARK_MAIN();
