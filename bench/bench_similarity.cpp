// Google Benchmark runs of the representation similarities (src/analysis) at the sizes a sensitivity
// analysis feeds them: 20,000 tokens of a BERT-base hidden state (768), 5,000 of a MiniLM one (384) and
// 8,192 of a SmolLM2 one (576), both sides the same width, correlated random activations.
//   similarity/covariance/...  joint_covariance alone (the pass over the samples)
//   similarity/{svcca_top64,pwcca,linear_cka,all_three}/...  each public call, covariances included
// Eigen is header-only, so this measures it as the project compiles it (no -march=native: SSE2 double
// kernels, OpenMP threads in its GEMMs). Flags: Google Benchmark's own (--benchmark_filter=...).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "analysis/covariance.h"
#include "analysis/similarity.h"

namespace {

using namespace squish;

struct Pair {
  std::vector<float> x, y;
  ActivationMatrix x_view() const { return {x.data(), rows, cols}; }
  ActivationMatrix y_view() const { return {y.data(), rows, cols}; }
  int64_t rows, cols;
};

// y = x + noise: a realistic pair (every correlation well inside (0, 1)).
const Pair& pair_of(int64_t rows, int64_t cols) {
  static std::vector<Pair> pairs;
  for (const Pair& p : pairs)
    if (p.rows == rows && p.cols == cols) return p;
  Pair p{{}, {}, rows, cols};
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal;
  p.x.resize(static_cast<size_t>(rows * cols));
  p.y.resize(p.x.size());
  for (size_t i = 0; i < p.x.size(); ++i) {
    p.x[i] = normal(rng);
    p.y[i] = p.x[i] + 0.5f * normal(rng);
  }
  pairs.push_back(std::move(p));
  return pairs.back();
}

template <typename Measure>
void run(benchmark::State& state, Measure measure) {
  const Pair& p = pair_of(state.range(0), state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(measure(p));
}

void covariance(benchmark::State& state) {
  run(state, [](const Pair& p) { return joint_covariance(p.x_view(), p.y_view()).xy(0, 0); });
}
void svcca_top64(benchmark::State& state) {
  run(state, [](const Pair& p) { return svcca_similarity(p.x_view(), p.y_view(), 64); });
}
void pwcca(benchmark::State& state) {
  run(state, [](const Pair& p) { return pwcca_similarity(p.x_view(), p.y_view()); });
}
void linear_cka(benchmark::State& state) {
  run(state, [](const Pair& p) { return linear_cka_similarity(p.x_view(), p.y_view()); });
}
void all_three(benchmark::State& state) {
  run(state, [](const Pair& p) { return similarity_scores(p.x_view(), p.y_view(), 64).pwcca; });
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rows", "cols"})->Args({20000, 768})->Args({8192, 576})->Args({5000, 384});
  b->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
}

BENCHMARK(covariance)->Name("similarity/covariance")->Apply(shapes);
BENCHMARK(svcca_top64)->Name("similarity/svcca_top64")->Apply(shapes);
BENCHMARK(pwcca)->Name("similarity/pwcca")->Apply(shapes);
BENCHMARK(linear_cka)->Name("similarity/linear_cka")->Apply(shapes);
BENCHMARK(all_three)->Name("similarity/all_three")->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
