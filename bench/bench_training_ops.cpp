// Google Benchmark runs of the training kernels at MiniLM training shapes (B=32, T=128, H=384,
// NH=12, FF=1536; M = B·T = 4096 tokens):
//   gelu/...       gelu_forward / gelu_backward over M·FF elements, GB/s of the bytes each must
//                  move (8 and 12 per element); gelu/reference the scalar twin (std::erf) for scale
//   layernorm/...  layernorm_forward / layernorm_backward over [M, H], GB/s likewise
//   attention/...  attention_train_forward / attention_backward with dropout 0.1 and every
//                  sequence full, GFLOP/s of the products (2 and 4 [T,T,HD] products per head)
//   matmul/...     the FFN's first Linear: forward y = x·W^T and the weight gradient dW += dy^T·x
// Extra flag: --threads=N (default: all cores), besides Google Benchmark's own.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/threads.h"
#include "kernels/attention_training.h"
#include "kernels/cpu_features.h"
#include "kernels/matmul.h"
#include "kernels/reference/training_reference.h"
#include "kernels/training_ops.h"

namespace {

using namespace squish;

constexpr int64_t kBatch = 32, kTokens = 128, kHidden = 384, kHeads = 12, kFeedForward = 1536;
constexpr int64_t kRows = kBatch * kTokens;

std::vector<float> filled(int64_t n, float scale) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>((i * 7919) % 2003 - 1001) / 1001.0f;
  return v;
}

void set_bytes(benchmark::State& state, double bytes) {
  state.counters["GB"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
void set_flops(benchmark::State& state, double flops) {
  state.counters["GFLOP"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_GeluForward(benchmark::State& state) {
  const int64_t n = kRows * kFeedForward;
  const auto x = filled(n, 4.0f);
  std::vector<float> y(n);
  for (auto _ : state) gelu_forward(y.data(), x.data(), n);
  set_bytes(state, 8.0 * n);
}
void BM_GeluBackward(benchmark::State& state) {
  const int64_t n = kRows * kFeedForward;
  const auto x = filled(n, 4.0f), dy = filled(n, 1.0f);
  std::vector<float> dx(n);
  for (auto _ : state) gelu_backward(dx.data(), dy.data(), x.data(), n);
  set_bytes(state, 12.0 * n);
}
void BM_GeluReference(benchmark::State& state) {
  const int64_t n = kRows * kFeedForward;
  const auto x = filled(n, 4.0f);
  std::vector<float> y(n);
  for (auto _ : state) reference::gelu_forward(y.data(), x.data(), n);
  set_bytes(state, 8.0 * n);
}

void BM_LayerNormForward(benchmark::State& state) {
  const auto x = filled(kRows * kHidden, 3.0f), gamma = filled(kHidden, 1.0f), beta = filled(kHidden, 0.5f);
  std::vector<float> y(kRows * kHidden), mean(kRows), rstd(kRows);
  for (auto _ : state)
    layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), gamma.data(), beta.data(), kRows, kHidden, 1e-12f);
  set_bytes(state, 8.0 * kRows * kHidden);
}
void BM_LayerNormBackward(benchmark::State& state) {
  const auto x = filled(kRows * kHidden, 3.0f), gamma = filled(kHidden, 1.0f), beta = filled(kHidden, 0.5f);
  const auto dy = filled(kRows * kHidden, 1.0f);
  std::vector<float> y(kRows * kHidden), mean(kRows), rstd(kRows), dx(kRows * kHidden), dgamma(kHidden), dbeta(kHidden);
  layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), gamma.data(), beta.data(), kRows, kHidden, 1e-12f);
  for (auto _ : state)
    layernorm_backward(dx.data(), dgamma.data(), dbeta.data(), dy.data(), x.data(), mean.data(), rstd.data(),
                       gamma.data(), kRows, kHidden);
  set_bytes(state, 12.0 * kRows * kHidden);
}

struct AttentionInputs {
  AttentionShape shape{kBatch, kTokens, kHeads, kHidden / kHeads};
  std::vector<float> qkv = filled(kRows * 3 * kHidden, 1.0f), d_ctx = filled(kRows * kHidden, 1.0f);
  std::vector<int32_t> lengths = std::vector<int32_t>(kBatch, static_cast<int32_t>(kTokens));
  std::vector<float> ctx = std::vector<float>(kRows * kHidden), probs = std::vector<float>(attention_probs_floats(shape));
  std::vector<uint8_t> keep = std::vector<uint8_t>(attention_probs_floats(shape));
  AttentionInputs() { dropout_mask(keep.data(), static_cast<int64_t>(keep.size()), 0.1f, 1); }
  // One [T, T, HD] product, 2 FLOP per multiply-add, for every (sequence, head).
  double product_flops() const { return 2.0 * kBatch * kHeads * kTokens * kTokens * shape.head_dim; }
};

void BM_AttentionForward(benchmark::State& state) {
  AttentionInputs in;
  for (auto _ : state)
    attention_train_forward(in.ctx.data(), in.probs.data(), in.qkv.data(), in.lengths.data(), in.keep.data(), 0.1f,
                            in.shape);
  set_flops(state, 2 * in.product_flops());
}
void BM_AttentionBackward(benchmark::State& state) {
  AttentionInputs in;
  attention_train_forward(in.ctx.data(), in.probs.data(), in.qkv.data(), in.lengths.data(), in.keep.data(), 0.1f,
                          in.shape);
  std::vector<float> d_qkv(in.qkv.size()), workspace(attention_backward_workspace_floats(in.shape));
  for (auto _ : state)
    attention_backward(d_qkv.data(), workspace.data(), in.d_ctx.data(), in.qkv.data(), in.probs.data(),
                       in.lengths.data(), in.keep.data(), 0.1f, in.shape);
  set_flops(state, 4 * in.product_flops());
}

void BM_MatmulForward(benchmark::State& state) {
  const auto x = filled(kRows * kHidden, 1.0f), w = filled(kFeedForward * kHidden, 0.05f);
  std::vector<float> y(kRows * kFeedForward);
  for (auto _ : state)
    matmul(y.data(), x.data(), w.data(), kRows, kFeedForward, kHidden, Transpose::kNo, Transpose::kYes, Accumulate::kNo);
  set_flops(state, 2.0 * kRows * kFeedForward * kHidden);
}
void BM_MatmulWeightGradient(benchmark::State& state) {
  const auto x = filled(kRows * kHidden, 1.0f), dy = filled(kRows * kFeedForward, 0.05f);
  std::vector<float> dw(kFeedForward * kHidden);
  for (auto _ : state)
    matmul(dw.data(), dy.data(), x.data(), kFeedForward, kHidden, kRows, Transpose::kYes, Transpose::kNo,
           Accumulate::kYes);
  set_flops(state, 2.0 * kRows * kFeedForward * kHidden);
}

BENCHMARK(BM_GeluForward)->Name("gelu/forward")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GeluBackward)->Name("gelu/backward")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GeluReference)->Name("gelu/reference")->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK(BM_LayerNormForward)->Name("layernorm/forward")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LayerNormBackward)->Name("layernorm/backward")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AttentionForward)->Name("attention/forward")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AttentionBackward)->Name("attention/backward")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MatmulForward)->Name("matmul/ffn_forward")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MatmulWeightGradient)->Name("matmul/ffn_weight_gradient")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--threads=", 0) != 0) {
      std::fprintf(stderr, "bench_training_ops: unknown argument %s (own flag: --threads=N)\n", argv[i]);
      return 2;
    }
    threads = std::atoi(a.c_str() + 10);
  }
  threads = squish::set_num_threads(threads);
  benchmark::AddCustomContext("squish_threads", std::to_string(threads));
  benchmark::AddCustomContext("squish_isa", std::string(squish::isa_name(squish::active_isa())));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
