// `squish quantize` as a library call: load the fp32 model, draw the calibration examples from the
// train split (never the evaluation split), calibrate through the Tap seam, quantize every default
// Linear (dynamic W8A32 or static W8A8), optionally fall back layer by layer to stay within
// --max_drop of fp32 on a held-out train slice, and write a model directory every squish command
// reads: squish's container plus quantization.json (eval/quantization_report.h). The directory
// is staged and renamed whole. ptq-compare and calib-ablation call the same function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/calibration_data.h"
#include "model/common/linear_formats.h"
#include "quant/awq.h"
#include "quant/bit_plan.h"
#include "quant/calibration.h"
#include "quant/fallback.h"
#include "quant/quantize_model.h"
#include "quant/smoothquant.h"

namespace squish {

// What a --rounding calibrates: AWQ's per-channel scales (awq, awq_gptq: searched first, so GPTQ
// rounds the scaled weights), GPTQ's Hessians (gptq, awq_gptq).
inline bool rounding_searches_scales(const std::string& rounding) {
  return rounding == "awq" || rounding == "awq_gptq";
}
inline bool rounding_uses_hessians(const std::string& rounding) { return rounding == "gptq" || rounding == "awq_gptq"; }

struct QuantizeRequest {
  std::string model_dir, output_dir;
  std::string task;                       // sst2 | mrpc | imdb (classifiers) | hellaswag (causal LMs)
  // A causal LM's calibration texts (load_text_calibration_set): a task's split or a text file;
  // empty: imdb. Classifiers calibrate on their task's split.
  std::string calib_data;
  std::string data_dir = "../shared/data";
  std::string mode = "static";            // dynamic | static | plan (every format from plan_path)
  std::string plan_path;                  // mode plan: a bit plan (quant/bit_plan.h)
  std::string rounding = "nearest";       // mode plan: nearest | gptq | awq (quant/awq.h) | awq_gptq (both)
  double gptq_damp = 0.01;                // GPTQ's dampening, a fraction of the Hessian's mean diagonal
  int64_t gptq_block_size = 128;          // GPTQ's lazy-batch block (columns)
  bool gptq_act_order = false;            // GPTQ's columns by decreasing Hessian diagonal (quant/gptq.h)
  QuantizeOptions quant;
  ObserverOptions observer;
  std::string calib_split = "train";
  int64_t calib_size = 500;
  int calib_batch_size = 32;
  std::string eval_split;                 // refused as calibration split; empty: the task's (dev; test for IMDB)
  uint64_t seed = 42;
  int max_length = 128;
  std::optional<double> max_drop;         // points of the fallback metric
  std::optional<double> smoothquant_alpha;  // SmoothQuant's migration strength before int8 (quant/smoothquant.h)
  bool smoothquant_auto = false;            // --smoothquant auto: each activation's own α, searched
  // Attention's products (--attention): int8 changes what every later layer sees, so it is set
  // before calibration and the fallback measure anything.
  AttentionArithmetic attention = AttentionArithmetic::kFp32;
  // What --max_drop is measured in on the held-out slice: "task" (the task's metric) or "agreement"
  // (the share of examples predicted as fp32 predicts them: still informative on training data the
  // model has memorised, where the task metric barely moves).
  std::string fallback_metric = "task";
  int64_t holdout_size = 500;             // train examples, disjoint from calibration, scored by the fallback
  int error_batches = 4;                  // calibration batches the per-layer errors are measured on
  bool progress = true;
};

struct LayerDecision {
  std::string name, role, format;
  std::string granularity;                // per_channel | per_tensor; empty for f32
  std::optional<U8Params> input;          // static: the stored grid
  int activation_qmax = kActivationQmax;  // int8: the activations' top code (127 with --reduce_range)
  std::optional<ActivationRange> input_range;
  float weight_scale_min = 0, weight_scale_max = 0;
  std::optional<double> dynamic_error, static_error;  // measured for --max_drop
};

struct QuantizeResult {
  QuantizeRequest request;
  std::string eval_split;
  std::optional<CalibrationSet> calibration;  // when the mode calibrates (its batches not kept)
  std::vector<int64_t> holdout_indices;   // --max_drop's held-out slice
  int64_t observer_bytes = 0;
  std::vector<LayerDecision> layers;      // forward order
  std::optional<BitPlan> plan;            // mode plan: the plan applied
  std::vector<std::string> warnings;      // where the user is about to be misled
  std::string embeddings_format;          // the word embeddings' format in the written model
  double average_bits = 0;                // stored bits per weight of the Linears and word embeddings
  std::optional<FallbackResult> fallback;
  std::optional<SmoothQuantResult> smoothquant;
  std::vector<AwqChoice> awq;             // --rounding awq: each scaled activation's choice
  std::optional<AwqClipCount> awq_clip;   // --rounding awq: the row groups the clipping search narrowed
  int64_t parameters = 0;
  int64_t source_file_bytes = 0, fp32_bytes = 0, output_file_bytes = 0;
  double load_seconds = 0, calibrate_seconds = 0, quantize_seconds = 0, fallback_seconds = 0, save_seconds = 0,
         wall_seconds = 0;
  int threads = 0;
};

// Whether the request runs a calibration pass (static ranges, the fallback, GPTQ/AWQ, SmoothQuant).
bool quantize_needs_calibration(const QuantizeRequest& q);

// Writes request.output_dir (config, tokenizer files, model.safetensors, quantization.json).
QuantizeResult run_quantize(const QuantizeRequest& request);

}  // namespace squish
