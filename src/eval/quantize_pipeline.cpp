#include "eval/quantize_pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <set>

#include "core/communicator.h"
#include "core/elapsed.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/progress.h"
#include "core/staged_directory.h"
#include "core/threads.h"
#include "eval/eval_pipeline.h"
#include "eval/export.h"
#include "eval/quantization_report.h"
#include "eval/runner.h"
#include "io/tokenizer/tokenizer.h"
#include "model/common/int8_linear_weights.h"
#include "model/load_model.h"
#include "quant/awq.h"
#include "quant/bit_plan.h"
#include "quant/gptq.h"
#include "quant/hessian.h"
#include "quant/layer_error.h"
#include "quant/linear_inputs.h"

namespace squish {
namespace {

// Train examples not in `taken` (indices of the same split).
Dataset without(const Dataset& d, const std::vector<int64_t>& taken) {
  const std::set<int64_t> skip(taken.begin(), taken.end());
  Dataset out = d;
  out.examples.clear();
  for (const Example& e : d.examples)
    if (!skip.count(e.index)) out.examples.push_back(e);
  return out;
}

// `variants` carry output errors only when they were measured (--max_drop).
LayerDecision describe(const Linear& l, const std::map<std::string, ActivationRange>& ranges,
                       const std::map<std::string, LinearVariants>& variants, bool errors_measured) {
  LayerDecision d;
  d.name = l.name;
  d.role = linear_role_name(l.role);
  d.format = l.weights->format();
  if (const Int8LinearWeights* q = int8_weights_of(l)) {
    d.granularity = q->granularity() == WeightGranularity::kPerChannel ? "per_channel" : "per_tensor";
    d.input = q->static_input();
    d.activation_qmax = q->activation_qmax();
    const auto [lo, hi] = std::minmax_element(q->scales().begin(), q->scales().end());
    d.weight_scale_min = *lo;
    d.weight_scale_max = *hi;
  }
  if (const auto it = ranges.find(l.name); it != ranges.end()) d.input_range = it->second;
  if (const auto it = variants.find(l.name); errors_measured && it != variants.end()) {
    d.dynamic_error = it->second.dynamic_error;
    if (it->second.static_int8) d.static_error = it->second.static_error;
  }
  return d;
}

// Dynamic or static int8 on the default Linears, with the --max_drop fallback when asked.
std::map<std::string, LinearVariants> quantize_int8(SequenceModel& model, const Tokenizer& tokenizer,
                                                    const QuantizeRequest& q,
                                                    const std::map<std::string, ActivationRange>& ranges,
                                                    const std::vector<TokenBatch>& calib_batches, const Dataset& holdout,
                                                    QuantizeResult& r) {
  const auto tq = Clock::now();
  std::map<std::string, LinearVariants> variants;
  for (Linear* l : model.mutable_linears()) {
    if (!quantized_by_default(*l, q.quant)) continue;
    LinearVariants v{*l, quantize_linear(*l, q.quant), std::nullopt};
    if (q.mode == "static") v.static_int8 = quantize_linear(*l, q.quant, ranges.at(l->name));
    variants.emplace(l->name, std::move(v));
  }
  // Errors and the fp32 reference are measured on the fp32 model, before anything is swapped in.
  EvalOptions holdout_options;
  holdout_options.max_length = q.max_length;
  holdout_options.progress = false;
  EvalResult reference;
  const auto tf = Clock::now();
  if (q.max_drop) {
    const size_t error_batches = std::min(calib_batches.size(), static_cast<size_t>(q.error_batches));
    measure_layer_errors(model, std::span(calib_batches).first(error_batches), variants);
    reference = evaluate(model, tokenizer, holdout, holdout_options);
  }
  const double fallback_preparation = seconds_since(tf);
  for (Linear* l : model.mutable_linears())
    if (const auto it = variants.find(l->name); it != variants.end())
      *l = it->second.static_int8 ? *it->second.static_int8 : it->second.dynamic;
  quantize_embeddings_if_asked(model, q.quant);
  r.quantize_seconds = seconds_since(tq) - fallback_preparation;

  if (q.max_drop) {
    const auto t = Clock::now();
    const bool agreement = q.fallback_metric == "agreement";
    r.fallback = accuracy_fallback(model, variants, *q.max_drop, agreement ? 1.0 : reference.score.value,
                                   [&](SequenceModel& m) {
                                     const EvalResult e = evaluate(m, tokenizer, holdout, holdout_options);
                                     if (!agreement) return e.score.value;
                                     int64_t same = 0;
                                     for (size_t i = 0; i < e.predictions.size(); ++i)
                                       same += e.predictions[i].pred == reference.predictions[i].pred;
                                     return static_cast<double>(same) / static_cast<double>(e.predictions.size());
                                   });
    r.fallback_seconds = fallback_preparation + seconds_since(t);
  }
  return variants;
}

// Where GPTQ's layer order puts a Linear: its layer, or -1 outside the layers (finished last).
int layer_group(const Linear& l, int layers) { return l.layer < 0 || l.layer >= layers ? -1 : l.layer; }

// The ranks' Hessians of layer group `layer`'s rounded Linears, added in rank order into `hessians` on
// every rank (a rank without batches has none of its own yet). Nothing to do in one process.
void merge_hessians_across_ranks(SequenceModel& model, int layer, const std::function<bool(const Linear&)>& rounded,
                                 std::map<std::string, HessianAccumulator>& hessians) {
  if (world().size() == 1) return;
  const int layers = static_cast<int>(model.info().layers);
  std::vector<HessianAccumulator*> order;  // the model's order, the same on every rank
  std::vector<size_t> sizes;
  std::vector<double> mine;
  for (const Linear* l : model.linears()) {
    if (layer_group(*l, layers) != layer || !rounded(*l)) continue;
    HessianAccumulator& h = hessians.try_emplace(l->name, l->in_features()).first->second;
    order.push_back(&h);
    const std::vector<double> state = h.state();
    sizes.push_back(state.size());
    mine.insert(mine.end(), state.begin(), state.end());
  }
  const std::vector<double> all = all_gather_values<double>(mine);
  for (HessianAccumulator* h : order) *h = HessianAccumulator(h->k());
  for (size_t at = 0; at < all.size();)  // each rank's states in turn
    for (size_t i = 0; i < order.size(); ++i) {
      order[i]->merge(std::span(all).subspan(at, sizes[i]));
      at += sizes[i];
    }
}

// GPTQ as the paper runs it: layer after layer, each layer's Hessians of its `rounded` Linears collected
// on the model whose earlier layers are already rounded, so every Linear is rounded against the inputs
// it will really see (observe_layers_in_order carries the calibration states from layer to layer, so
// the cost stays linear in depth); round_layer(layer, hessians) then gives that layer's Linears their
// new representation.
void round_layers_in_order(
    SequenceModel& model, const std::vector<TokenBatch>& calib_batches,
    const std::function<bool(const Linear&)>& rounded,
    const std::function<void(int layer, const std::map<std::string, HessianAccumulator>&)>& round_layer,
    const QuantizeRequest& q, QuantizeResult& r) {
  const auto t0 = Clock::now();
  const int layers = static_cast<int>(model.info().layers);
  // The bar counts layers and the part outside them, each observed over every calibration example.
  ProgressBar bar("gptq", q.progress ? layers + 1 : 0, "layers");
  bar.set_detail(fmt::format("{} calibration examples a layer", r.calibration->indices.size()));
  std::map<std::string, HessianAccumulator> hessians;
  double rounding_seconds = 0;
  // Calibration batches dealt round robin to the ranks of a distributed run; each layer's Hessians are
  // merged before GPTQ rounds it, so every rank rounds the same layer the same way.
  std::vector<TokenBatch> my_batches;
  for (size_t u = 0; u < calib_batches.size(); ++u)
    if (runs_here(static_cast<int64_t>(u))) my_batches.push_back(calib_batches[u]);
  observe_layers_in_order(
      model, my_batches, rounded,
      [&](const Linear& l, const float* x, int64_t rows) {
        hessians.try_emplace(l.name, l.in_features()).first->second.add(x, rows);
      },
      [&](int layer) {
        const auto t = Clock::now();
        merge_hessians_across_ranks(model, layer, rounded, hessians);
        round_layer(layer, hessians);
        hessians.clear();  // K² doubles a Linear: only one layer's are alive at once
        rounding_seconds += seconds_since(t);
        bar.advance(1);
      });
  bar.finish();
  r.quantize_seconds += rounding_seconds;
  r.calibrate_seconds += seconds_since(t0) - rounding_seconds;
}

GptqOptions gptq_options(const QuantizeRequest& q, int bits = 4, int64_t group_size = 64) {
  return GptqOptions{bits, group_size, q.gptq_damp, q.gptq_block_size, q.gptq_act_order};
}

// Every format the plan names; with GPTQ the embeddings first, then layer after layer.
void quantize_by_plan(SequenceModel& model, const BitPlan& plan, const QuantizeRequest& q,
                      const std::vector<TokenBatch>& calib_batches, QuantizeResult& r) {
  if (rounding_searches_scales(q.rounding)) {
    const auto t = Clock::now();
    r.awq = awq_scale(model, calib_batches, plan);
    r.calibrate_seconds += seconds_since(t);
  }
  if (!rounding_uses_hessians(q.rounding)) {
    const auto t = Clock::now();
    if (rounding_searches_scales(q.rounding)) {  // AWQ's clipping search, on the inputs as scaled
      const auto grams = awq_group_grams(model, calib_batches, plan);
      AwqClipCount count;
      apply_bit_plan(model, plan, [&](const Linear& l, const Tensor& w, int bits, int64_t group_size) {
        return awq_clip_quantize(w.data(), w.dim(0), w.dim(1), bits, group_size, grams.at(l.name), &count);
      });
      r.awq_clip = count;
    } else {
      apply_bit_plan(model, plan);
    }
    r.quantize_seconds = seconds_since(t);
    return;
  }
  apply_bit_plan(model, BitPlan{{}, plan.embeddings, std::nullopt});
  const int layers = static_cast<int>(model.info().layers);
  std::map<int, BitPlan> by_layer;  // -1: outside the layers
  for (const Linear* l : model.linears())
    if (const auto it = plan.linears.find(l->name); it != plan.linears.end())
      by_layer[layer_group(*l, layers)].linears.insert(*it);
  const auto grouped = [&](const Linear& l) {
    const auto it = plan.linears.find(l.name);
    return it != plan.linears.end() && parse_weight_format(it->second, q.plan_path).traits->grouped;
  };
  round_layers_in_order(
      model, calib_batches, grouped,
      [&](int layer, const std::map<std::string, HessianAccumulator>& hessians) {
        if (const auto part = by_layer.find(layer); part != by_layer.end())
          apply_bit_plan(model, part->second, [&](const Linear& l, const Tensor& w, int bits, int64_t group_size) {
            return gptq_quantize(w.data(), w.dim(0), w.dim(1), hessians.at(l.name), gptq_options(q, bits, group_size));
          });
      },
      q, r);
}

// Dynamic or static int8 with GPTQ's codes: each default Linear keeps round-to-nearest's scales (and
// its calibrated input grid), its codes rounded layer after layer against the inputs it will see.
void quantize_int8_gptq(SequenceModel& model, const QuantizeRequest& q,
                        const std::map<std::string, ActivationRange>& ranges,
                        const std::vector<TokenBatch>& calib_batches, QuantizeResult& r) {
  quantize_embeddings_if_asked(model, q.quant);
  const int layers = static_cast<int>(model.info().layers);
  const auto rounded = [&](const Linear& l) { return quantized_by_default(l, q.quant); };
  round_layers_in_order(
      model, calib_batches, rounded,
      [&](int layer, const std::map<std::string, HessianAccumulator>& hessians) {
        for (Linear* l : model.mutable_linears()) {
          if (layer_group(*l, layers) != layer || !rounded(*l)) continue;
          const Tensor w = linear_dequantize(*l);
          Int8Weights weights = quantize_weights_s8(w, q.quant.granularity, linear_part_rows(*l));
          weights.q =
              gptq_quantize_s8(w.data(), w.dim(0), w.dim(1), hessians.at(l->name), weights.scales, gptq_options(q));
          std::optional<ActivationRange> range;
          if (q.mode == "static") range = ranges.at(l->name);
          *l = int8_linear(*l, std::move(weights), q.quant, range);
        }
      },
      q, r);
}

}  // namespace

bool quantize_needs_calibration(const QuantizeRequest& q) {
  return q.mode == "static" || q.max_drop.has_value() || q.rounding != "nearest" || q.smoothquant_alpha.has_value() ||
         q.smoothquant_auto;
}

QuantizeResult run_quantize(const QuantizeRequest& q) {
  const auto t0 = Clock::now();
  if (q.mode != "dynamic" && q.mode != "static" && q.mode != "plan")
    throw UsageError("--mode " + q.mode + ": expected dynamic or static (or a --plan)");
  if ((q.mode == "plan") != !q.plan_path.empty())
    throw UsageError(q.plan_path.empty() ? "--mode plan needs --plan" : "--plan replaces --mode " + q.mode);
  if (q.rounding != "nearest" && !rounding_searches_scales(q.rounding) && !rounding_uses_hessians(q.rounding))
    throw UsageError("--rounding " + q.rounding + ": expected nearest, gptq, awq or awq_gptq");
  if (rounding_searches_scales(q.rounding) && q.mode != "plan")
    throw UsageError(
        "--rounding " + q.rounding +
        " searches scales for a --plan's formats; for int8 use --smoothquant (auto searches each activation's)");
  if (rounding_uses_hessians(q.rounding) && q.max_drop)
    throw UsageError("--max_drop falls back round-to-nearest int8 Linears; it does not take --rounding " + q.rounding);
  const bool smoothquant = q.smoothquant_alpha.has_value() || q.smoothquant_auto;
  if (rounding_searches_scales(q.rounding) && smoothquant)
    throw UsageError("--rounding " + q.rounding +
                     " searches its own per-channel scales; --smoothquant would set them twice");
  if (q.smoothquant_auto && q.mode == "plan")
    throw UsageError(
        "--smoothquant auto scores int8 readers; for a --plan's formats use --rounding awq, which "
        "searches each activation's scales for the formats its readers get");
  if (q.mode == "plan" && q.max_drop) throw UsageError("--max_drop falls back int8 Linears; it does not take a --plan");
  if (q.mode == "plan" && q.quant.activation_qmax != kActivationQmax)
    throw UsageError("--reduce_range sets int8 activation grids; a --plan's formats do not take it");
  const std::optional<BitPlan> plan = q.mode == "plan" ? std::optional(read_bit_plan(q.plan_path)) : std::nullopt;
  if (q.fallback_metric != "task" && q.fallback_metric != "agreement")
    throw UsageError("--fallback_metric " + q.fallback_metric + ": expected task or agreement");
  // A causal LM is scored on a language-modelling task: no classification split is involved.
  const bool language_model = is_language_modelling_task(q.task);
  if (language_model && q.max_drop)
    throw UsageError("--max_drop measures a classifier's metric on held-out train examples; --task hellaswag has none");
  QuantizeResult r;
  r.request = q;
  r.plan = plan;
  r.threads = num_threads();
  if (!language_model) {
    r.eval_split = q.eval_split.empty() ? default_eval_split(q.task) : q.eval_split;
    check_calibration_split(q.task, q.calib_split, r.eval_split);
  }
  const bool needs_calibration = quantize_needs_calibration(q);
  // Made before the work so a taken output path costs nothing.
  StagedDirectory out(q.output_dir);

  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(q.model_dir);
  const std::unique_ptr<SequenceModel> model = load_model(q.model_dir);
  refuse_quantized(*model, q.model_dir, "quantize its fp32 source");
  model->set_attention_arithmetic(q.attention);
  check_task_fits_model(q.task, q.calib_data, model->info(), q.model_dir, "quantize");
  if (!language_model) check_max_length(q.max_length, *tokenizer, model->info(), q.task == "mrpc");
  r.warnings = model_task_warnings(model->info(), q.task);
  if (plan)
    for (std::string& w : check_bit_plan(*model, *plan, q.plan_path)) r.warnings.push_back(std::move(w));
  r.parameters = model->parameter_count();
  r.fp32_bytes = r.parameters * static_cast<int64_t>(sizeof(float));
  r.source_file_bytes = model->info().weights_file_bytes;

  std::vector<TokenBatch> calib_batches;
  Dataset holdout;
  if (needs_calibration && language_model) {
    r.calibration = load_text_calibration_set(*tokenizer, {q.calib_data, q.calib_split, "", q.data_dir, q.calib_size,
                                                           q.seed, q.max_length, q.calib_batch_size});
    calib_batches = std::move(r.calibration->batches);
    r.calibration->batches.clear();
  } else if (needs_calibration) {
    const Dataset split = load_dataset(parse_task(q.task), parse_split(q.calib_split), q.data_dir);
    r.calibration = make_calibration_set(
        *tokenizer, take_subset(split, q.calib_size, q.seed),
        {q.task, q.calib_split, r.eval_split, q.data_dir, q.calib_size, q.seed, q.max_length, q.calib_batch_size});
    if (const std::string w =
            truncation_warning(r.calibration->truncated, static_cast<int64_t>(r.calibration->indices.size()),
                               q.max_length, q.task, "calibration examples");
        !w.empty())
      r.warnings.push_back(w);
    calib_batches = std::move(r.calibration->batches);
    r.calibration->batches.clear();
    if (q.max_drop) {
      holdout = take_subset(without(split, r.calibration->indices), q.holdout_size, q.seed + 1);
      for (const Example& e : holdout.examples) r.holdout_indices.push_back(e.index);
    }
  }
  r.load_seconds = seconds_since(t0);

  if (smoothquant) {
    const auto t = Clock::now();
    r.smoothquant = q.smoothquant_auto ? smooth_quant_auto(*model, calib_batches,
                                                           {.static_activations = q.mode == "static", .int8 = q.quant})
                                       : smooth_quant(*model, calib_batches, *q.smoothquant_alpha);
    r.calibrate_seconds += seconds_since(t);
  }
  std::map<std::string, ActivationRange> ranges;
  if (q.mode == "static") {
    const auto t = Clock::now();
    ProgressBar bar("calibrate", q.progress ? static_cast<int64_t>(r.calibration->indices.size()) : 0, "examples");
    const CalibrationResult c = calibrate(
        *model, calib_batches, q.observer, q.quant.activation_qmax,
        [&](const Linear& l) { return quantized_by_default(l, q.quant); },
        [&](int64_t n) { bar.advance(n); });
    bar.finish();
    ranges = c.input_ranges;
    r.observer_bytes = c.observer_bytes;
    r.calibrate_seconds += seconds_since(t);
  }

  std::map<std::string, LinearVariants> variants;
  if (plan) quantize_by_plan(*model, *plan, q, calib_batches, r);
  else if (rounding_uses_hessians(q.rounding))
    quantize_int8_gptq(*model, q, ranges, calib_batches, r);
  else variants = quantize_int8(*model, *tokenizer, q, ranges, calib_batches, holdout, r);
  for (const Linear* l : model->linears()) r.layers.push_back(describe(*l, ranges, variants, q.max_drop.has_value()));
  r.embeddings_format = model->mutable_word_embeddings().format();
  r.average_bits = average_weight_bits(*model);

  const auto ts = Clock::now();
  r.output_file_bytes = write_squish_model(*model, q.model_dir, out);
  r.save_seconds = seconds_since(ts);
  r.wall_seconds = seconds_since(t0);
  write_file_atomic(out.file("quantization.json"), quantization_json(r).dump(2) + "\n");
  out.commit();
  return r;
}

}  // namespace squish
