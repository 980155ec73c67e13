// Google Benchmark runs of squish's kernels at BERT-base shapes:
//   gemm/...        PackedWeights::pack + gemm_packed, each Linear of a layer, M = 128 and 4096 tokens
//   gemm_int8/...   PackedInt8Weights::pack + gemm_u8s8s32 at the same shapes, on every back end the
//                   CPU has (avx512 = oneDNN with VNNI, avx2 = squish's exact vpmaddwd kernel, scalar
//                   at M = 1 only), and onednn_u8s8 = oneDNN's own u8×s8 matmul on whatever ISA it
//                   runs (on AVX2 its vpmaddubsw saturates above u8 129: what a --reduce_range model
//                   runs there, and the price of exactness on the full range);
//                   GOP/s, int8_peak_fraction of the VNNI peak measured at start-up or SQUISH_PEAK_GOPS
//   gemm_lowbit/... PackedLowBitWeights (RTN, group 64, 4 and 2 bits) + gemm_lowbit, and
//   gemm_f16/...    PackedF16Weights + gemm_f16, at the same shapes and M = 1, 128, 4096 (GFLOP of
//                   the fp32 product they stand in for, so rates compare directly with gemm/...)
//   gather/...      PackedLowBitWeights::add_row / add_f16_row over 128 random rows of
//                   a BERT-base vocabulary table (30522 × 768), the embedding gather
//   observer/...    a histogram observer's range() search (percentile, mse, entropy) on 2048 bins per side
//   reference/...   squish::reference::linear at one small shape, with the fast path's speedup
//   attention/...   squish::attention, B=32 T=128, B=8 T=512 and B=2 T=128, NH=12 HD=64
//   attention_int8/ISA/...  squish::attention_int8 on the VNNI and AVX2 kernels, same shapes
//   causal_attention/..., causal_attention_int8/ISA/...   squish::causal_attention and its int8 twin at
//                   SmolLM2's heads (NH=9, KV=3, HD=64), B=1 T=1024 and B=4 T=256 (GFLOP: the visible
//                   half of QKᵀ and PV)
//   layernorm/..., masked_softmax/...   vector_ops_for(isa) for every ISA up to active_isa()
//   encoder/...     bert_forward of a 1-layer random BERT-base (embeddings, 1 layer, pooler, head),
//                   the layer whole (full) and as a classifier's last layer runs it ([CLS] only)
// FLOP-counted benchmarks report GFLOP (a rate: GFLOP/s) and peak_fraction, their share of the
// machine's fp32 FMA peak measured at start-up (or SQUISH_PEAK_GFLOPS). Extra flag: --threads=N
// (default: all cores), besides Google Benchmark's own (--benchmark_filter=..., ...).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "core/threads.h"
#include "eval/bench.h"
#include "kernels/attention.h"
#include "kernels/attention_int8.h"
#include "kernels/causal_attention.h"
#include "kernels/cpu_features.h"
#include "kernels/dnnl_context.h"
#include "kernels/gemm.h"
#include "kernels/gemm_int8.h"
#include "kernels/gemm_lowbit.h"
#include "kernels/int8_scheme.h"
#include "kernels/reference/reference_ops.h"
#include "kernels/vector_ops.h"
#include "model/bert/bert_checkpoint.h"
#include "model/bert/bert_config_file.h"
#include "model/bert/bert_forward.h"
#include "peak_fp32.h"
#include "peak_int8.h"
#include "quant/observers.h"

#ifndef SQUISH_BENCH_CONFIG
#define SQUISH_BENCH_CONFIG "../shared/models/bert-base-uncased-vocab/config.json"
#endif

namespace {

using namespace squish;
using Clock = std::chrono::steady_clock;

double g_peak_flops = 0;  // fp32 peak of the threads in use, FLOP/s; 0 when unknown
double g_peak_int8_ops = 0;  // int8 VNNI peak of the threads in use, op/s; 0 when unknown

AlignedVector<float> random_floats(size_t n, uint64_t seed, float stddev = 1.0f) {
  AlignedVector<float> v(n);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, stddev);
  for (float& x : v) x = normal(rng);
  return v;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// GFLOP as a rate (shown as GFLOP=…/s) and the fraction of the fp32 peak. `elapsed` is the wall
// time of the whole timed loop (the benchmarks use real time, the kernels being multi-threaded).
void flop_counters(benchmark::State& state, double flop_per_iter, double elapsed) {
  state.counters["GFLOP"] = benchmark::Counter(flop_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (g_peak_flops > 0 && elapsed > 0)
    state.counters["peak_fraction"] =
        flop_per_iter * static_cast<double>(state.iterations()) / elapsed / g_peak_flops;
}

// ---- GEMM: the four Linears of a BERT-base layer ----

void bm_gemm(benchmark::State& state, int64_t m, int64_t n, int64_t k, Epilogue epilogue) {
  const auto w = random_floats(static_cast<size_t>(n * k), 1, 0.02f);
  const auto bias = random_floats(static_cast<size_t>(n), 2, 0.02f);
  const auto x = random_floats(static_cast<size_t>(m * k), 3);
  AlignedVector<float> y(static_cast<size_t>(m * n), 0.0f);
  const PackedWeights packed = PackedWeights::pack(w.data(), n, k);
  gemm_packed(y.data(), x.data(), packed, bias.data(), m, epilogue);  // primitive creation, first touch
  const auto t0 = Clock::now();
  for (auto _ : state) {
    gemm_packed(y.data(), x.data(), packed, bias.data(), m, epilogue);
    benchmark::ClobberMemory();
  }
  flop_counters(state, 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k),
                seconds_since(t0));
}

// ---- Int8 GEMM (u8 x s8 -> s32) at the same shapes, against the int8 peak ----

void int8_counters(benchmark::State& state, double ops, double elapsed) {
  state.counters["GOP"] = benchmark::Counter(ops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (g_peak_int8_ops > 0 && elapsed > 0)
    state.counters["int8_peak_fraction"] = ops * static_cast<double>(state.iterations()) / elapsed / g_peak_int8_ops;
}

struct Int8Operands {
  std::vector<int8_t> w;
  std::vector<uint8_t> x;
  AlignedVector<int32_t> acc;
  Int8Operands(int64_t m, int64_t n, int64_t k)
      : w(static_cast<size_t>(n * k)), x(static_cast<size_t>(m * k)), acc(static_cast<size_t>(m * n)) {
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(static_cast<int>(i * 7 % 255) - 127);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(i * 13 % (kActivationQmax + 1));
  }
};

void bm_gemm_int8(benchmark::State& state, int64_t m, int64_t n, int64_t k, Isa isa) {
  Int8Operands o(m, n, k);
  const PackedInt8Weights packed = PackedInt8Weights::pack(o.w.data(), n, k, kActivationQmax, isa);
  gemm_u8s8s32(o.acc.data(), o.x.data(), packed, m);  // primitive creation, first touch
  const auto t0 = Clock::now();
  for (auto _ : state) {
    gemm_u8s8s32(o.acc.data(), o.x.data(), packed, m);
    benchmark::ClobberMemory();
  }
  int8_counters(state, 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k), seconds_since(t0));
}

// oneDNN's u8×s8 matmul on the ISA oneDNN chooses (capped with squish's, dnnl_context.h), weights
// packed once: squish's back end on VNNI machines and, on AVX2, for reduced-range (7-bit) activations.
void bm_gemm_int8_onednn(benchmark::State& state, int64_t m, int64_t n, int64_t k) {
  using dnnl::memory;
  Int8Operands o(m, n, k);
  const memory::desc src({m, k}, memory::data_type::u8, memory::format_tag::ab);
  const memory::desc dst({m, n}, memory::data_type::s32, memory::format_tag::ab);
  const memory::desc any({k, n}, memory::data_type::s8, memory::format_tag::any);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, any, dst), cpu_engine());
  memory plain({{k, n}, memory::data_type::s8, memory::format_tag::ba}, cpu_engine(), o.w.data());
  memory packed(pd.weights_desc(), cpu_engine());
  dnnl::reorder(plain, packed).execute(thread_stream(), plain, packed);
  const dnnl::matmul primitive(pd);
  memory x(src, cpu_engine(), o.x.data()), y(dst, cpu_engine(), o.acc.data());
  const auto run = [&] {
    primitive.execute(thread_stream(), {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_DST, y}});
    thread_stream().wait();
  };
  run();
  const auto t0 = Clock::now();
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  int8_counters(state, 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k), seconds_since(t0));
}

// ---- Low-bit (W4A8 / W2A8) and fp16-weight GEMMs at the same shapes ----

void bm_gemm_lowbit(benchmark::State& state, int64_t m, int64_t n, int64_t k, int bits, int64_t group, Epilogue epilogue) {
  const auto w = random_floats(static_cast<size_t>(n * k), 1, 0.02f);
  const auto bias = random_floats(static_cast<size_t>(n), 2, 0.02f);
  const auto x = random_floats(static_cast<size_t>(m * k), 3);
  AlignedVector<float> y(static_cast<size_t>(m * n), 0.0f);
  const PackedLowBitWeights packed = PackedLowBitWeights::pack(quantize_groups_rtn(w.data(), n, k, bits, group));
  AlignedVector<uint8_t> workspace(static_cast<size_t>(gemm_lowbit_workspace_bytes(packed, m)));
  gemm_lowbit(y.data(), x.data(), packed, bias.data(), m, epilogue, workspace.data());  // first touch
  const auto t0 = Clock::now();
  for (auto _ : state) {
    gemm_lowbit(y.data(), x.data(), packed, bias.data(), m, epilogue, workspace.data());
    benchmark::ClobberMemory();
  }
  flop_counters(state, 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k),
                seconds_since(t0));
  state.counters["weight_MiB"] = static_cast<double>(packed.bytes()) / (1 << 20);
}

void bm_gemm_f16(benchmark::State& state, int64_t m, int64_t n, int64_t k, Epilogue epilogue) {
  const auto w = random_floats(static_cast<size_t>(n * k), 1, 0.02f);
  std::vector<uint16_t> halves(w.size());
  for (size_t i = 0; i < w.size(); ++i) halves[i] = float_to_half(w[i]);
  const auto bias = random_floats(static_cast<size_t>(n), 2, 0.02f);
  const auto x = random_floats(static_cast<size_t>(m * k), 3);
  AlignedVector<float> y(static_cast<size_t>(m * n), 0.0f);
  const PackedF16Weights packed = PackedF16Weights::pack(halves.data(), n, k);
  gemm_f16(y.data(), x.data(), packed, bias.data(), m, epilogue, nullptr);  // first touch
  const auto t0 = Clock::now();
  for (auto _ : state) {
    gemm_f16(y.data(), x.data(), packed, bias.data(), m, epilogue, nullptr);
    benchmark::ClobberMemory();
  }
  flop_counters(state, 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k),
                seconds_since(t0));
}

// An embedding gather: 128 random rows of a [30522, 768] table added into the hidden state.
// bits = 16 means the fp16 table.
void bm_gather(benchmark::State& state, int bits) {
  const int64_t vocab = 30522, hidden = 768, tokens = 128;
  const auto table = random_floats(static_cast<size_t>(vocab * hidden), 1, 0.05f);
  std::vector<int64_t> ids(static_cast<size_t>(tokens));
  std::mt19937_64 rng(5);
  for (int64_t& id : ids) id = static_cast<int64_t>(rng() % static_cast<uint64_t>(vocab));
  AlignedVector<float> out(static_cast<size_t>(tokens * hidden), 0.0f);
  std::vector<uint16_t> halves;
  std::unique_ptr<PackedLowBitWeights> lowbit;
  if (bits == 16) {
    halves.resize(table.size());
    for (size_t i = 0; i < table.size(); ++i) halves[i] = float_to_half(table[i]);
  } else {
    lowbit = std::make_unique<PackedLowBitWeights>(
        PackedLowBitWeights::pack(quantize_groups_rtn(table.data(), vocab, hidden, bits, 64)));
  }
  for (auto _ : state) {
    for (int64_t t = 0; t < tokens; ++t) {
      float* row = out.data() + t * hidden;
      if (!lowbit)
        add_f16_row(row, halves.data() + ids[static_cast<size_t>(t)] * hidden, hidden);
      else lowbit->add_row(ids[static_cast<size_t>(t)], row);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * tokens);
}

// ---- The reference twin at one small shape, against the fast path ----

void bm_reference_linear(benchmark::State& state, int64_t m, int64_t n, int64_t k) {
  const auto w = random_floats(static_cast<size_t>(n * k), 1, 0.02f);
  const auto bias = random_floats(static_cast<size_t>(n), 2, 0.02f);
  const auto x = random_floats(static_cast<size_t>(m * k), 3);
  AlignedVector<float> y(static_cast<size_t>(m * n), 0.0f);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    reference::linear(y.data(), x.data(), w.data(), bias.data(), m, n, k, Epilogue::kNone);
    benchmark::ClobberMemory();
  }
  const double ref_s = seconds_since(t0) / static_cast<double>(state.iterations());
  const double flop = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  flop_counters(state, flop, ref_s * static_cast<double>(state.iterations()));
  // The fast path on the same operands, outside the timed loop: fast_speedup = reference / fast.
  const PackedWeights packed = PackedWeights::pack(w.data(), n, k);
  for (int i = 0; i < 3; ++i) gemm_packed(y.data(), x.data(), packed, bias.data(), m, Epilogue::kNone);
  std::vector<double> fast;
  for (int i = 0; i < 30; ++i) {
    const auto f0 = Clock::now();
    gemm_packed(y.data(), x.data(), packed, bias.data(), m, Epilogue::kNone);
    fast.push_back(seconds_since(f0));
  }
  std::sort(fast.begin(), fast.end());
  state.counters["fast_speedup"] = ref_s / fast[fast.size() / 2];
}

// ---- Attention ----

void bm_attention(benchmark::State& state, int64_t b, int64_t t, int64_t nh, int64_t hd) {
  const AttentionShape s{b, t, nh, hd};
  const auto qkv = random_floats(static_cast<size_t>(b * t * 3 * s.hidden()), 4);
  AlignedVector<float> ctx(static_cast<size_t>(b * t * s.hidden()));
  AlignedVector<float> scores(static_cast<size_t>(attention_workspace_floats(s, s.tokens)));
  const std::vector<int32_t> lengths(static_cast<size_t>(b), static_cast<int32_t>(t));
  attention(ctx.data(), scores.data(), qkv.data(), lengths.data(), s, s.tokens);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    attention(ctx.data(), scores.data(), qkv.data(), lengths.data(), s, s.tokens);
    benchmark::ClobberMemory();
  }
  // QK^T and PV, 2 FLOPs per multiply-add; the softmax is not counted.
  const double flop = 2.0 * 2.0 * static_cast<double>(b * nh) * static_cast<double>(t * t) * static_cast<double>(hd);
  flop_counters(state, flop, seconds_since(t0));
}

// The same shapes with int8 products on one ISA's kernels (GFLOP: the fp32 attention's, so the
// rates compare directly with attention/...).
void bm_attention_int8(benchmark::State& state, Isa isa, int64_t b, int64_t t, int64_t nh, int64_t hd) {
  const AttentionShape s{b, t, nh, hd};
  const auto qkv = random_floats(static_cast<size_t>(b * t * 3 * s.hidden()), 4);
  AlignedVector<float> ctx(static_cast<size_t>(b * t * s.hidden()));
  AlignedVector<uint8_t> workspace(static_cast<size_t>(attention_int8_workspace_bytes(s)));
  const std::vector<int32_t> lengths(static_cast<size_t>(b), static_cast<int32_t>(t));
  attention_int8(ctx.data(), workspace.data(), qkv.data(), lengths.data(), s, s.tokens, isa);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    attention_int8(ctx.data(), workspace.data(), qkv.data(), lengths.data(), s, s.tokens, isa);
    benchmark::ClobberMemory();
  }
  const double flop = 2.0 * 2.0 * static_cast<double>(b * nh) * static_cast<double>(t * t) * static_cast<double>(hd);
  flop_counters(state, flop, seconds_since(t0));
}

// Causal grouped-query attention, fp32 (`isa` unset) or int8 on one ISA's kernels.
void bm_causal_attention(benchmark::State& state, std::optional<Isa> isa, int64_t b, int64_t t, int64_t nh, int64_t kv,
                         int64_t hd) {
  const CausalAttentionShape s{b, t, nh, kv, hd};
  const auto qkv = random_floats(static_cast<size_t>(b * t * s.row_width()), 4);
  AlignedVector<float> ctx(static_cast<size_t>(b * t * s.query_width()));
  AlignedVector<float> scores(static_cast<size_t>(causal_attention_workspace_floats(s)));
  AlignedVector<uint8_t> workspace(static_cast<size_t>(causal_attention_int8_workspace_bytes(s)));
  const std::vector<int32_t> lengths(static_cast<size_t>(b), static_cast<int32_t>(t));
  auto run = [&] {
    if (isa)
      causal_attention_int8(ctx.data(), workspace.data(), qkv.data(), lengths.data(), nullptr, s, *isa);
    else
      causal_attention(ctx.data(), scores.data(), qkv.data(), lengths.data(), nullptr, s);
  };
  run();
  const auto t0 = Clock::now();
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  const double pairs = static_cast<double>(t) * static_cast<double>(t + 1) / 2.0;
  flop_counters(state, 2.0 * 2.0 * static_cast<double>(b * nh) * pairs * static_cast<double>(hd), seconds_since(t0));
}

// ---- Row-wise ops, per ISA ----

void bm_layernorm(benchmark::State& state, Isa isa, int64_t rows, int64_t n) {
  const VectorOps& ops = vector_ops_for(isa);
  const auto x = random_floats(static_cast<size_t>(rows * n), 5);
  const auto gamma = random_floats(static_cast<size_t>(n), 6);
  const auto beta = random_floats(static_cast<size_t>(n), 7);
  AlignedVector<float> y(static_cast<size_t>(rows * n));
  for (auto _ : state) {
    ops.layernorm(y.data(), x.data(), gamma.data(), beta.data(), rows, n, 1e-12f);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * rows * n * 2 * static_cast<int64_t>(sizeof(float)));
}

void bm_masked_softmax(benchmark::State& state, Isa isa, int64_t rows, int64_t cols, int64_t valid) {
  const VectorOps& ops = vector_ops_for(isa);
  const auto src = random_floats(static_cast<size_t>(rows * cols), 8, 4.0f);
  AlignedVector<float> s(src.size());
  const float scale = 1.0f / std::sqrt(64.0f);
  for (auto _ : state) {
    // In place, so restore raw scores first (untimed; a memcpy of the same size would be ~1/3 of
    // the op's own traffic).
    state.PauseTiming();
    std::memcpy(s.data(), src.data(), src.size() * sizeof(float));
    state.ResumeTiming();
    ops.masked_softmax(s.data(), rows, cols, valid, scale);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * rows * cols * 2 * static_cast<int64_t>(sizeof(float)));
}

// ---- One encoder layer through the model's forward ----

std::string config_path() {
  if (const char* env = std::getenv("SQUISH_BENCH_CONFIG")) return env;
  return SQUISH_BENCH_CONFIG;
}

// `full`: the (last and only) layer computes every row, one whole encoder layer. Otherwise it runs
// as the last layer of a classifier does, [CLS] rows only past the QKV GEMM.
void bm_encoder(benchmark::State& state, int64_t b, int64_t t, bool full) {
  BertConfig c;
  try {
    c = parse_bert_config_file(config_path());
  } catch (const std::exception& e) {
    state.SkipWithError((std::string("config: ") + e.what()).c_str());
    for (auto _ : state) {
    }
    return;
  }
  c.num_hidden_layers = 1;
  c.num_labels = 2;
  const BertModel model = random_bert(c, 42);
  const TokenBatch batch = random_token_batch(bert_token_limits(c), b, t, 9);
  BertActivations act;
  std::vector<float> logits;
  ForwardOptions options;
  options.last_layer = full ? LastLayerRows::kAllTokens : LastLayerRows::kClsOnly;
  bert_forward(model, batch, act, logits, options);  // buffers, primitives
  const auto t0 = Clock::now();
  for (auto _ : state) {
    bert_forward(model, batch, act, logits, options);
    benchmark::DoNotOptimize(logits.data());
  }
  flop_counters(state, bert_forward_flops(c, b, t, options.last_layer), seconds_since(t0));
}

// An observer's range() after 200k Laplace-distributed values (most of 2 × 2048 bins filled): the
// cost calibration pays once per Linear for the histogram searches.
void bm_observer_range(benchmark::State& state, ObserverKind kind) {
  std::mt19937_64 rng(11);
  std::exponential_distribution<float> magnitude(1.0f);
  std::vector<float> values(200000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = (i % 2 ? 1.0f : -1.0f) * magnitude(rng);
  ObserverOptions options;
  options.kind = kind;
  const auto observer = make_observer(options);
  observer->observe(values.data(), static_cast<int64_t>(values.size()));
  for (auto _ : state) benchmark::DoNotOptimize(observer->range(255));
}

// ---- Registration ----

const char* epilogue_name(Epilogue e) {
  switch (e) {
    case Epilogue::kNone: return "none";
    case Epilogue::kGelu: return "gelu";
    case Epilogue::kTanh: return "tanh";
    case Epilogue::kAccumulate: return "acc";
    case Epilogue::kRelu: return "relu";
  }
  return "?";
}

void register_all() {
  struct GemmShape {
    const char* name;
    int64_t n, k;
    Epilogue epilogue;  // the one the forward pass uses for this Linear
  };
  const GemmShape shapes[] = {
      {"qkv", 2304, 768, Epilogue::kNone},
      {"attn_out", 768, 768, Epilogue::kAccumulate},
      {"ffn_in", 3072, 768, Epilogue::kGelu},
      {"ffn_out", 768, 3072, Epilogue::kAccumulate},
  };
  for (int64_t m : {1, 128, 4096})
    for (const GemmShape& g : shapes) {
      const std::string name = std::string("gemm/") + g.name + "/M:" + std::to_string(m) + "/N:" +
                               std::to_string(g.n) + "/K:" + std::to_string(g.k) + "/" + epilogue_name(g.epilogue);
      benchmark::RegisterBenchmark(name.c_str(), bm_gemm, m, g.n, g.k, g.epilogue)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }

  for (int64_t m : {1, 128, 4096})
    for (const GemmShape& g : shapes) {
      const std::string shape = std::string(g.name) + "/M:" + std::to_string(m) + "/N:" + std::to_string(g.n) +
                                "/K:" + std::to_string(g.k);
      for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kScalar}) {
        if (isa > active_isa() || !int8_isa_available(isa) || (isa == Isa::kScalar && m > 1)) continue;
        benchmark::RegisterBenchmark(("gemm_int8/" + std::string(isa_name(isa)) + "/" + shape).c_str(), bm_gemm_int8,
                                     m, g.n, g.k, isa)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
      benchmark::RegisterBenchmark(("gemm_int8/onednn_u8s8/" + shape).c_str(), bm_gemm_int8_onednn, m, g.n, g.k)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }

  for (int bits : {4, 2})
    for (int64_t m : {1, 128, 4096})
      for (const GemmShape& g : shapes) {
        const std::string name = std::string("gemm_lowbit/w") + std::to_string(bits) + "g64/" + g.name + "/M:" + std::to_string(m) +
                                 "/N:" + std::to_string(g.n) + "/K:" + std::to_string(g.k) + "/" + epilogue_name(g.epilogue);
        benchmark::RegisterBenchmark(name.c_str(), bm_gemm_lowbit, m, g.n, g.k, bits, int64_t{64}, g.epilogue)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }

  for (int64_t m : {1, 128, 4096})
    for (const GemmShape& g : shapes) {
      const std::string name = std::string("gemm_f16/") + g.name + "/M:" + std::to_string(m) + "/N:" +
                               std::to_string(g.n) + "/K:" + std::to_string(g.k) + "/" + epilogue_name(g.epilogue);
      benchmark::RegisterBenchmark(name.c_str(), bm_gemm_f16, m, g.n, g.k, g.epilogue)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }

  for (int bits : {4, 2, 16}) {
    const std::string table = bits == 16 ? std::string("f16") : std::string("w") + std::to_string(bits) + "g64";
    benchmark::RegisterBenchmark((std::string("gather/") + table + "/rows:128/vocab:30522/K:768").c_str(), bm_gather, bits)
        ->Unit(benchmark::kMicrosecond);
  }

  for (ObserverKind kind : {ObserverKind::kPercentile, ObserverKind::kMse, ObserverKind::kEntropy})
    benchmark::RegisterBenchmark(("observer/" + std::string(observer_name(kind)) + "/range/bins:2048").c_str(),
                                 bm_observer_range, kind)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);

  benchmark::RegisterBenchmark("reference/linear/M:128/N:768/K:768", bm_reference_linear, int64_t{128},
                               int64_t{768}, int64_t{768})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);

  for (auto [b, t] : {std::pair<int64_t, int64_t>{32, 128}, {8, 512}, {2, 128}}) {
    const std::string name = "attention/B:" + std::to_string(b) + "/T:" + std::to_string(t) + "/NH:12/HD:64";
    benchmark::RegisterBenchmark(name.c_str(), bm_attention, b, t, int64_t{12}, int64_t{64})
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
      if (!lowbit_isa_available(isa) || isa > active_isa()) continue;
      const std::string int8_name = "attention_int8/" + std::string(isa_name(isa)) + "/B:" + std::to_string(b) +
                                    "/T:" + std::to_string(t) + "/NH:12/HD:64";
      benchmark::RegisterBenchmark(int8_name.c_str(), bm_attention_int8, isa, b, t, int64_t{12}, int64_t{64})
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }

  for (auto [b, t] : {std::pair<int64_t, int64_t>{1, 1024}, {4, 256}}) {
    const std::string shape = "/B:" + std::to_string(b) + "/T:" + std::to_string(t) + "/NH:9/KV:3/HD:64";
    benchmark::RegisterBenchmark(("causal_attention" + shape).c_str(), bm_causal_attention, std::nullopt, b, t,
                                 int64_t{9}, int64_t{3}, int64_t{64})
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
      if (!lowbit_isa_available(isa) || isa > active_isa()) continue;
      benchmark::RegisterBenchmark(("causal_attention_int8/" + std::string(isa_name(isa)) + shape).c_str(),
                                   bm_causal_attention, std::optional<Isa>(isa), b, t, int64_t{9}, int64_t{3},
                                   int64_t{64})
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }

  for (int i = 0; i <= static_cast<int>(active_isa()); ++i) {
    const Isa isa = static_cast<Isa>(i);
    const std::string isa_s(isa_name(isa));
    // LayerNorm over the [B*T, H] hidden state at B=32, T=128.
    benchmark::RegisterBenchmark(("layernorm/" + isa_s + "/rows:4096/n:768").c_str(), bm_layernorm, isa,
                                 int64_t{4096}, int64_t{768})
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    // Softmax over the [B, NH, T, T] scores: B=32 T=128 (all keys valid, and 100 of 128 valid) and B=8 T=512.
    for (auto [rows, cols, valid] : {std::tuple<int64_t, int64_t, int64_t>{32 * 12 * 128, 128, 128},
                                     {32 * 12 * 128, 128, 100},
                                     {8 * 12 * 512, 512, 512}}) {
      const std::string name = "masked_softmax/" + isa_s + "/rows:" + std::to_string(rows) + "/cols:" +
                               std::to_string(cols) + "/valid:" + std::to_string(valid);
      benchmark::RegisterBenchmark(name.c_str(), bm_masked_softmax, isa, rows, cols, valid)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }

  // Embeddings + one layer + pooler + classifier. "full": every row of the layer (kAllTokens);
  // "cls_only": as the last layer of a classifier runs.
  for (auto [b, t] : {std::pair<int64_t, int64_t>{32, 128}, {1, 128}})
    for (bool full : {true, false}) {
      const std::string name = std::string("encoder/1_layer_") + (full ? "full" : "cls_only") +
                               "/B:" + std::to_string(b) + "/T:" + std::to_string(t);
      benchmark::RegisterBenchmark(name.c_str(), bm_encoder, b, t, full)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--threads=", 0) == 0) {
      threads = std::atoi(a.c_str() + 10);
    } else {
      std::fprintf(stderr, "bench_kernels: unknown argument %s (own flag: --threads=N)\n", argv[i]);
      return 2;
    }
  }
  threads = squish::set_num_threads(threads);
  const squish::bench::PeakFp32 peak = squish::bench::fp32_peak(threads);
  g_peak_flops = peak.gflops * 1e9;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", peak.gflops);
  benchmark::AddCustomContext("squish_threads", std::to_string(threads));
  benchmark::AddCustomContext("squish_isa", std::string(squish::isa_name(squish::active_isa())));
  benchmark::AddCustomContext("fp32_peak_gflops", buf);
  benchmark::AddCustomContext("fp32_peak_source", peak.source);
  const squish::bench::PeakInt8 int8 = squish::bench::int8_peak(threads);
  g_peak_int8_ops = int8.gops * 1e9;
  std::snprintf(buf, sizeof buf, "%.1f", int8.gops);
  benchmark::AddCustomContext("int8_peak_gops", buf);
  benchmark::AddCustomContext("int8_peak_source", int8.source);
  benchmark::AddCustomContext("bert_config", config_path());
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
