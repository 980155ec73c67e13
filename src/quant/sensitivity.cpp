#include "quant/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <span>

#include "analysis/similarity.h"
#include "core/communicator.h"
#include "core/elapsed.h"
#include "core/error.h"
#include "core/parallel.h"
#include "model/common/lowbit_storage.h"

namespace squish {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Whether token `position` of calibration sequence `sequence` is compared: a hash below the
// sampling rate, so the choice depends on neither batching nor threads.
bool sampled(uint64_t seed, int64_t sequence, int64_t position, double rate) {
  if (rate >= 1.0) return true;
  const uint64_t h = splitmix64(seed ^ splitmix64(static_cast<uint64_t>(sequence) * 0x100000001B3ull +
                                                  static_cast<uint64_t>(position)));
  return static_cast<double>(h >> 11) * 0x1.0p-53 < rate;
}

// Rows of a batch's [B*T, H] states that are compared, in order. An encoder's final representation
// is its [CLS] row; a decoder has none, and its first token (the same BOS for every sequence, or a
// sequence's first word seen without context) is never compared.
std::vector<int64_t> compared_rows(const TokenBatch& b, int64_t first_sequence, CompareAt compare, bool decoder,
                                   uint64_t seed, double rate) {
  std::vector<int64_t> rows;
  for (int64_t s = 0; s < b.batch; ++s) {
    if (compare == CompareAt::kFinal && !decoder) {
      rows.push_back(s * b.tokens);
      continue;
    }
    for (int64_t t = decoder ? 1 : 0; t < b.lengths[static_cast<size_t>(s)]; ++t)
      if (sampled(seed, first_sequence + s, t, rate)) rows.push_back(s * b.tokens + t);
  }
  return rows;
}

void append_rows(std::vector<float>& out, const AlignedVector<float>& states, const std::vector<int64_t>& rows,
                 int64_t h) {
  for (int64_t r : rows) out.insert(out.end(), states.begin() + r * h, states.begin() + (r + 1) * h);
}

// `rows` as an [n, h] activation matrix.
ActivationMatrix as_matrix(const std::vector<float>& rows, int64_t h) {
  return {rows.data(), static_cast<int64_t>(rows.size()) / h, h};
}

double similarity(SimilarityMethod method, const SimilarityReference& x, const std::vector<float>& y, int64_t h,
                  int topk) {
  const ActivationMatrix b = as_matrix(y, h);
  switch (method) {
    case SimilarityMethod::kSvcca: return x.svcca(b, topk);
    case SimilarityMethod::kPwcca: return x.pwcca(b);
    case SimilarityMethod::kCka: return x.linear_cka(b);
  }
  return 0;
}

// Adds ‖W − Q‖² and ‖W‖² of one weight tensor and its quantized twin.
void add_weight_error(const Tensor& w, const Tensor& q, double& error2, double& norm2) {
  for (size_t i = 0; i < w.values.size(); ++i) {
    const double d = static_cast<double>(w.values[i]) - q.values[i];
    error2 += d * d;
    norm2 += static_cast<double>(w.values[i]) * w.values[i];
  }
}

// One (unit, width): the representations it swaps in, and the rows it produced.
struct Variant {
  std::vector<Linear> linears;          // the unit's Linears in this width (empty for the embeddings)
  EmbeddingTable embeddings;            // the embeddings unit only
  std::vector<float> outputs;
  SensitivityCell cell;
};

// A cell's measured numbers, for the gather; NaN stands for a missing head similarity.
constexpr size_t kCellNumbers = 7;

void append_numbers(std::vector<double>& out, const SensitivityCell& c) {
  out.insert(out.end(), {c.similarity, c.sensitivity, c.weight_error,
                         c.head_similarity ? *c.head_similarity : std::numeric_limits<double>::quiet_NaN(),
                         c.quantize_seconds, c.run_seconds, c.similarity_seconds});
}

void read_numbers(const double* in, SensitivityCell& c) {
  c.similarity = in[0];
  c.sensitivity = in[1];
  c.weight_error = in[2];
  c.head_similarity = std::isnan(in[3]) ? std::nullopt : std::optional<double>(in[3]);
  c.quantize_seconds = in[4];
  c.run_seconds = in[5];
  c.similarity_seconds = in[6];
}

// Every rank's units' cells on every rank: unit u was measured by rank u mod size.
void gather_cells(std::vector<std::vector<SensitivityCell>>& cells) {
  std::vector<uint64_t> mine;
  std::vector<double> numbers;
  for (size_t u = 0; u < cells.size(); ++u)
    if (runs_here(static_cast<int64_t>(u))) {
      mine.push_back(u);
      for (const SensitivityCell& c : cells[u]) append_numbers(numbers, c);
    }
  gather_items<double>(
      mine, numbers, [&](uint64_t u) { return kCellNumbers * cells[u].size(); },
      [&](uint64_t u, const double* in) {
        for (SensitivityCell& c : cells[u]) {
          read_numbers(in, c);
          in += kCellNumbers;
        }
      });
}

}  // namespace

SimilarityMethod parse_similarity_method(const std::string& name) {
  if (name == "svcca") return SimilarityMethod::kSvcca;
  if (name == "pwcca") return SimilarityMethod::kPwcca;
  if (name == "cka") return SimilarityMethod::kCka;
  throw UsageError("--method " + name + ": expected svcca, pwcca or cka");
}

std::string similarity_method_name(SimilarityMethod m) {
  switch (m) {
    case SimilarityMethod::kSvcca: return "svcca";
    case SimilarityMethod::kPwcca: return "pwcca";
    case SimilarityMethod::kCka: return "cka";
  }
  return "?";
}

SensitivityGranularity parse_sensitivity_granularity(const std::string& name) {
  if (name == "layer") return SensitivityGranularity::kLayer;
  if (name == "linear") return SensitivityGranularity::kLinear;
  throw UsageError("--granularity " + name + ": expected layer or linear");
}

CompareAt parse_compare_at(const std::string& name) {
  if (name == "layer") return CompareAt::kLayer;
  if (name == "final") return CompareAt::kFinal;
  throw UsageError("--compare " + name + ": expected layer or final");
}

std::string linear_format_for_bits(int bits, int64_t group_size) {
  switch (bits) {
    case 2:
    case 3:
    case 4: return group_format_name({bits, group_size});
    case 8: return "int8-dynamic";
    case 16: return "f16";
    case 32: return "f32";
  }
  throw UsageError("--bits " + std::to_string(bits) + ": expected 2, 3, 4, 8, 16 or 32");
}

std::string embedding_format_for_bits(int bits, int64_t group_size) {
  return bits == 8 ? "int8-rows" : linear_format_for_bits(bits, group_size);
}

std::vector<SensitivityUnit> sensitivity_units(SequenceModel& model, SensitivityGranularity granularity,
                                               bool embeddings) {
  std::vector<SensitivityUnit> units;
  std::map<int, size_t> unit_of_layer;
  for (const Linear* l : model.linears()) {
    const int layer = l->layer;
    if (layer < 0) continue;  // pooler, classifier and an untied LM head stay as they are
    if (granularity == SensitivityGranularity::kLinear) {
      units.push_back({l->name, layer, {l->name}, linear_parameters(*l) - l->bias.numel()});
      continue;
    }
    auto [it, fresh] = unit_of_layer.try_emplace(layer, units.size());
    // The unit is named as the model names its layer: "encoder.layer.3" (BERT), "model.layers.3" (Llama).
    const std::string suffix = "." + std::to_string(layer) + ".";
    if (fresh) units.push_back({l->name.substr(0, l->name.find(suffix) + suffix.size() - 1), layer, {}, 0});
    units[it->second].linears.push_back(l->name);
    units[it->second].parameters += linear_parameters(*l) - l->bias.numel();
  }
  if (embeddings) {
    SensitivityUnit e{"embeddings", -1, {}, 0};
    e.parameters = model.mutable_word_embeddings().numel();
    units.push_back(e);
  }
  return units;
}

void check_sensitivity_options(const SensitivityOptions& options) {
  if (options.bits.empty()) throw UsageError("--bits: give at least one width");
  for (size_t i = 1; i < options.bits.size(); ++i)
    if (options.bits[i] <= options.bits[i - 1])
      throw UsageError(options.bits[i] == options.bits[i - 1]
                           ? "--bits lists " + std::to_string(options.bits[i]) + " twice; give each width once"
                           : "--bits: give the widths in increasing order (the plan's allocation expects them so)");
  if (options.group_size <= 0 || options.group_size % 16 != 0)
    throw UsageError("--group_size " + std::to_string(options.group_size) +
                     ": expected a multiple of 16 (the packed kernels' smallest group)");
  for (int bits : options.bits) linear_format_for_bits(bits, options.group_size);  // UsageError: no such format
}

SensitivityResult measure_sensitivity(SequenceModel& model, std::span<const TokenBatch> batches,
                                      const SensitivityOptions& options, const SensitivityProgress& progress) {
  const auto t0 = Clock::now();
  SensitivityResult r;
  r.options = options;
  r.units = sensitivity_units(model, options.granularity, options.embeddings);
  const int layers = static_cast<int>(model.info().layers);
  const int64_t h = model.info().hidden_size;
  if (r.units.empty()) throw UsageError("sensitivity: the model has no encoder layers to measure");
  check_sensitivity_options(options);

  const bool decoder = model.info().has_lm_head;
  int64_t comparable = 0;  // the rows compared_rows draws from
  for (const TokenBatch& b : batches)
    for (int32_t len : b.lengths) {
      r.valid_tokens += len;
      comparable += decoder ? std::max(len - 1, 0) : len;
    }
  const double rate = (options.compare == CompareAt::kFinal && !decoder) || comparable <= options.max_tokens
                          ? 1.0
                          : static_cast<double>(options.max_tokens) / static_cast<double>(comparable);
  std::vector<std::vector<int64_t>> rows_of_batch;
  for (const TokenBatch& b : batches) {
    rows_of_batch.push_back(compared_rows(b, r.sequences, options.compare, decoder, options.seed, rate));
    r.sequences += b.batch;
    r.compared_rows += static_cast<int64_t>(rows_of_batch.back().size());
  }
  if (r.compared_rows <= h)
    throw UsageError("sensitivity: " + std::to_string(r.compared_rows) + " compared rows (" +
                     (options.compare == CompareAt::kFinal && !decoder
                          ? "one [CLS] row per calibration sequence"
                          : "valid calibration tokens, at most --max_tokens" +
                                std::string(decoder ? ", each sequence's first left out" : "")) +
                     ") but the hidden size is " + std::to_string(h) +
                     "; similarity needs more samples than dimensions: raise --calib_size" +
                     (options.compare == CompareAt::kFinal && !decoder ? "" : " or --max_tokens"));

  // Every Linear by name, and each (unit, width) variant made once.
  std::map<std::string, Linear*> linear_by_name;
  for (Linear* l : model.mutable_linears()) linear_by_name[l->name] = l;
  EmbeddingTable& embeddings = model.mutable_word_embeddings();
  // Units are dealt round robin to the ranks of a distributed run (core/communicator.h): each rank
  // runs the fp32 pass on every batch, then only its units' variants and similarities, measured
  // exactly as one process measures them; gather_cells gives every rank all the cells.
  std::vector<std::vector<Variant>> variants(r.units.size());
  // Where unit u's variants are compared with fp32: its own layer's output, or the last layer's.
  const auto point_of = [&](size_t u) { return options.compare == CompareAt::kFinal ? layers - 1 : r.units[u].layer; };
  std::vector<size_t> units_here;
  std::set<int> points_here;  // the comparison points this rank's units need
  bool table_here = false;
  for (size_t u = 0; u < r.units.size(); ++u) {
    if (!runs_here(static_cast<int64_t>(u))) continue;
    units_here.push_back(u);
    table_here |= r.units[u].layer < 0;
    points_here.insert(point_of(u));
  }
  // A unit per thread at a time (each quantizer then runs single-threaded): only those units' fp32
  // weights are held at once.
  parallel_for(
      static_cast<int64_t>(units_here.size()),
      [&](int64_t i) {
        const size_t u = units_here[static_cast<size_t>(i)];
        const bool table = r.units[u].layer < 0;
        // The unit's fp32 weights, once for all its widths.
        std::vector<Tensor> fp32;
        if (table) fp32.push_back(embeddings.dequantize());
        for (const std::string& name : r.units[u].linears) fp32.push_back(linear_dequantize(*linear_by_name.at(name)));
        for (int bits : options.bits) {
          const auto t = Clock::now();
          Variant v;
          v.cell.bits = bits;
          double error2 = 0, norm2 = 0;
          if (table) {
            v.cell.format = embedding_format_for_bits(bits, options.group_size);
            v.embeddings = EmbeddingTable::quantized(fp32[0], v.cell.format);
            add_weight_error(fp32[0], v.embeddings.dequantize(), error2, norm2);
          } else {
            v.cell.format = linear_format_for_bits(bits, options.group_size);
            const WeightFormat f = parse_weight_format(v.cell.format, "sensitivity");
            for (size_t j = 0; j < r.units[u].linears.size(); ++j) {
              Linear q = *linear_by_name.at(r.units[u].linears[j]);
              q.weights = quantize_weights_of(q.name, fp32[j], f);
              add_weight_error(fp32[j], linear_dequantize(q), error2, norm2);
              v.linears.push_back(std::move(q));
            }
          }
          v.cell.weight_error = norm2 > 0 ? std::sqrt(error2 / norm2) : 0;
          v.cell.quantize_seconds = seconds_since(t);
          variants[u].push_back(std::move(v));
        }
      },
      1);

  // A tied table is also the LM head: its unit is measured at the head's logits too, from the
  // final-normed last-layer states of the compared rows.
  const bool tied_head = decoder && model.info().tied_lm_head && options.embeddings && table_here;
  std::vector<float> head_rows;

  // Reference rows: per comparison point (-1 the embeddings' output, l layer l's output) or the
  // final [CLS] rows.
  std::map<int, std::vector<float>> reference;
  std::vector<AlignedVector<float>> states(static_cast<size_t>(layers) + 1);
  AlignedVector<float> work;
  const auto swap_in = [&](Variant& v) {
    if (v.linears.empty()) {
      std::swap(embeddings, v.embeddings);
      return;
    }
    for (Linear& q : v.linears) std::swap(*linear_by_name.at(q.name), q);
  };
  for (size_t bi = 0; bi < batches.size(); ++bi) {
    const TokenBatch& b = batches[bi];
    const std::vector<int64_t>& rows = rows_of_batch[bi];
    const auto tf = Clock::now();
    model.embed(b, states[0]);
    for (int l = 0; l < layers; ++l) {
      states[static_cast<size_t>(l) + 1] = states[static_cast<size_t>(l)];
      model.run_layers(b, states[static_cast<size_t>(l) + 1], l, l + 1, nullptr);
    }
    if (tied_head) {
      const size_t before = head_rows.size();
      append_rows(head_rows, states.back(), rows, h);
      model.final_norm(head_rows.data() + before, static_cast<int64_t>(head_rows.size() - before) / h);
    }
    r.fp32_seconds += seconds_since(tf);
    for (int l : points_here) append_rows(reference[l], states[static_cast<size_t>(l) + 1], rows, h);

    for (size_t u = 0; u < r.units.size(); ++u) {
      const int layer = r.units[u].layer;
      for (Variant& v : variants[u]) {
        const auto t = Clock::now();
        swap_in(v);
        try {
          if (options.compare == CompareAt::kLayer && layer >= 0) {  // only the compared rows of its output
            model.run_layer_rows(b, states[static_cast<size_t>(layer)], layer, rows, work);
            v.outputs.insert(v.outputs.end(), work.begin(), work.end());
          } else {
            if (layer < 0)
              model.embed(b, work);
            else {
              work = states[static_cast<size_t>(layer)];
              model.run_layers(b, work, layer, layer + 1, nullptr);
            }
            if (options.compare == CompareAt::kFinal && layer + 1 < layers)
              model.run_layers(b, work, layer + 1, layers, nullptr);
            append_rows(v.outputs, work, rows, h);
          }
        } catch (...) {
          swap_in(v);
          throw;
        }
        swap_in(v);
        v.cell.run_seconds += seconds_since(t);
      }
    }
    if (progress.on_batch) progress.on_batch(b.batch);
  }

  // The head's side: the covariance of its inputs and the fp32 table's Gram, once.
  Eigen::MatrixXd head_covariance, fp32_head_gram;
  if (tied_head) {
    const auto t = Clock::now();
    head_covariance = side_covariance(as_matrix(head_rows, h)).covariance;
    head_rows = {};
    const Tensor table = embeddings.dequantize();
    fp32_head_gram = weight_gram(table.data(), table.dim(0), table.dim(1));
    r.head_seconds = seconds_since(t);
  }

  // Each comparison point's fp32 side is prepared once for all the widths compared with it, then the
  // cells are compared two or more at a time (one per thread, each single-threaded): a cell's numbers
  // do not depend on which thread computes it or when.
  std::map<int, SimilarityReference> prepared;
  for (int point : points_here) prepared.try_emplace(point, as_matrix(reference.at(point), h));
  std::vector<std::pair<size_t, size_t>> to_compare;  // (unit, width)
  std::vector<size_t> order(r.units.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // The embeddings first: a tied head's cells also compare the table's Grams, the longest.
  std::stable_partition(order.begin(), order.end(), [&](size_t u) { return r.units[u].layer < 0; });
  for (size_t u : order)
    for (size_t w = 0; w < variants[u].size(); ++w) to_compare.emplace_back(u, w);
  parallel_for(
      static_cast<int64_t>(to_compare.size()),
      [&](int64_t i) {
        const auto [u, w] = to_compare[static_cast<size_t>(i)];
        Variant& v = variants[u][w];
        const auto t = Clock::now();
        v.cell.similarity = similarity(options.method, prepared.at(point_of(u)), v.outputs, h, options.topk);
        v.cell.sensitivity = 1.0 - v.cell.similarity;
        if (tied_head && r.units[u].layer < 0) {
          const Tensor table = v.embeddings.dequantize();
          v.cell.head_similarity = linear_cka_through_maps(head_covariance, fp32_head_gram,
                                                           weight_gram(table.data(), table.dim(0), table.dim(1)));
          v.cell.sensitivity += 1.0 - *v.cell.head_similarity;
        }
        v.cell.similarity_seconds = seconds_since(t);
        v.outputs = {};
        if (progress.on_similarity) {
#pragma omp critical(squish_sensitivity_progress)
          progress.on_similarity();
        }
      },
      1);
  for (size_t u = 0; u < r.units.size(); ++u) {
    std::vector<SensitivityCell> cells;
    if (!runs_here(static_cast<int64_t>(u)))  // another rank's: filled by gather_cells
      for (int bits : options.bits) {
        SensitivityCell cell;
        cell.bits = bits;
        cell.format = r.units[u].layer < 0 ? embedding_format_for_bits(bits, options.group_size)
                                           : linear_format_for_bits(bits, options.group_size);
        cells.push_back(cell);
      }
    for (const Variant& v : variants[u]) cells.push_back(v.cell);
    r.cells.push_back(std::move(cells));
  }
  gather_cells(r.cells);
  r.wall_seconds = seconds_since(t0);
  return r;
}

}  // namespace squish
