// `squish mixed-precision`: the study's pipeline in one call. From the fp32 model:
//   1. score it on the evaluation split (IMDB test by default, all of it unless --max_samples);
//   2. measure every unit's sensitivity at every width on calibration examples from train
//      (sensitivity.json, sensitivity.log);
//   3. allocate a width per unit (plan.json);
//   4. quantize by the plan, round-to-nearest or GPTQ (model/, a squish model directory);
//   5. score the saved model read back from model/.
// Calibration examples never come from the evaluation split (refused), and texts they share with
// it are counted in sensitivity.json. The folder is staged and renamed whole; the CLI adds
// results.json (report/mixed_precision_report.h).
#pragma once

#include <string>

#include "eval/allocate_pipeline.h"
#include "eval/eval_pipeline.h"
#include "eval/quantize_pipeline.h"
#include "eval/sensitivity_pipeline.h"

namespace squish {

struct MixedPrecisionRequest {
  std::string model_dir, task = "imdb", output_dir;
  std::string data_dir = "../shared/data";
  std::string split;                   // evaluation split; empty: the task's (dev; test for IMDB)
  std::string data_file;               // hellaswag: the items' file; empty: the lm-eval file under data_dir
  int64_t max_samples = 0;             // 0 = the whole evaluation split; else a seeded subset
  SensitivityRequest sensitivity;      // its model_dir, task, data_dir, output_dir and eval_split are set here
  AllocateRequest allocation;          // its sensitivity_path and output are set here
  std::string rounding = "nearest";    // nearest | gptq | awq | awq_gptq (QuantizeRequest::rounding)
  int64_t gptq_calib_size = 256;       // train examples whose Linear inputs make GPTQ's Hessians
  double gptq_damp = 0.01;
  int64_t gptq_block_size = 128;
  bool gptq_act_order = false;
  AttentionArithmetic attention = AttentionArithmetic::kFp32;  // of the saved model (QuantizeRequest::attention)
  EvalOptions eval;                    // max_length is shared with calibration
  uint64_t seed = 42;
};

struct MixedPrecisionResult {
  MixedPrecisionRequest request;
  std::string split;
  EvalRequest fp32_request, quantized_request;  // quantized_request.model_dir: the committed path
  EvalResult fp32, quantized;
  SensitivityRun sensitivity;
  AllocateResult allocation;
  QuantizeResult quantize;
  double sensitivity_seconds = 0, wall_seconds = 0;
};

MixedPrecisionResult run_mixed_precision(const MixedPrecisionRequest& request);

}  // namespace squish
