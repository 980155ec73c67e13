// The study's post-training quantization experiments as library calls, each from the fp32 model to
// scores of quantized models that were saved, reloaded and run on the int8 kernels:
//  - ptq-compare: fp32 vs dynamic W8A32 vs static W8A8 on the task's evaluation split;
//  - calib-ablation: static W8A8 for every calibration size (and observer) asked for.
// Every quantized model is written under output_dir (one directory per variant) by run_quantize().
#pragma once

#include <string>
#include <vector>

#include "eval/eval_pipeline.h"
#include "eval/quantize_pipeline.h"

namespace squish {

struct PtqExperimentRequest {
  std::string model_dir, task, output_dir;
  std::string data_dir = "../shared/data";
  std::string split;  // evaluation split; empty: the task's (dev; test for IMDB)
  QuantizeOptions quant;
  ObserverOptions observer;
  std::vector<ObserverKind> observers;      // calib-ablation: empty = {observer.kind}
  std::vector<int64_t> calib_sizes = {500};  // ptq-compare uses the first
  int calib_batch_size = 32;
  AttentionArithmetic attention = AttentionArithmetic::kFp32;  // of every quantized variant
  uint64_t seed = 42;
  int64_t max_samples = 0;  // scored examples: 0 = the whole split, else a seeded subset
  EvalOptions eval;
};

struct PtqVariant {
  std::string name;        // "fp32", "dynamic", "static", or "<observer>/<size>" in an ablation
  std::string mode;        // fp32 | dynamic | static
  std::string observer;    // static only
  int64_t calib_size = 0;  // static only
  std::string model_dir;   // where the evaluated model was read from
  EvalResult eval;
  double quantize_seconds = 0;  // wall time of run_quantize (0 for fp32)
  int64_t calib_tokens = 0;
  std::vector<std::string> quantize_warnings;  // what quantizing it said (the eval's are in eval.warnings)
};

struct PtqExperimentResult {
  PtqExperimentRequest request;
  std::string split;
  std::vector<PtqVariant> variants;  // fp32 first
  std::vector<std::string> warnings;  // of the experiment itself (each variant's are in it)
};

PtqExperimentResult run_ptq_compare(const PtqExperimentRequest& request);
PtqExperimentResult run_calib_ablation(const PtqExperimentRequest& request);

}  // namespace squish
