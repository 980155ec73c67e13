#include "eval/mixed_precision_pipeline.h"

#include "core/elapsed.h"
#include "core/error.h"
#include "core/staged_directory.h"
#include "eval/hellaswag_eval.h"
#include "model/load_model.h"

namespace squish {

MixedPrecisionResult run_mixed_precision(const MixedPrecisionRequest& q) {
  const auto t0 = Clock::now();
  MixedPrecisionResult r;
  r.request = q;
  // A causal LM is scored on HellaSwag's validation items and calibrates on --calib_data's texts.
  const bool language_model = is_language_modelling_task(q.task);
  r.split = language_model ? "dev" : q.split.empty() ? default_eval_split(q.task) : q.split;
  if (language_model) {
    check_hellaswag_split(q.split);
  } else {
    check_calibration_split(q.task, q.sensitivity.calib_split, r.split);
    require_labeled_split(q.task, r.split, "mixed-precision");
  }
  check_sensitivity_options(q.sensitivity.options);
  StagedDirectory out(q.output_dir);
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(q.model_dir);
  const std::unique_ptr<SequenceModel> model = load_model(q.model_dir);
  // Everything that can be refused is refused before the fp32 pass and the sensitivities.
  refuse_quantized(*model, q.model_dir, "start from its fp32 source");
  SensitivityRequest s = q.sensitivity;
  s.model_dir = q.model_dir;
  s.task = q.task;
  s.data_dir = q.data_dir;
  s.eval_split = r.split;
  s.max_length = q.eval.max_length;
  s.progress = q.eval.progress;
  s.options.seed = q.seed;
  CalibrationSet calibration = sensitivity_calibration(*tokenizer, *model, s);
  SensitivitySizes sizes = sensitivity_sizes(*model, q.sensitivity.options);
  check_allocation_request(q.allocation, q.sensitivity.options.bits,
                           model->parameter_count() * static_cast<int64_t>(sizeof(float)),
                           smallest_planned_bytes(sizes));

  r.fp32_request = {q.model_dir, q.task, r.split, q.data_dir, q.data_file, q.max_samples, q.seed, q.eval};
  r.fp32 = run_eval(r.fp32_request);

  const auto ts = Clock::now();
  r.sensitivity = measure_model_sensitivity(*model, s, std::move(calibration), std::move(sizes));
  write_sensitivity_files(r.sensitivity, out.path());
  r.sensitivity_seconds = seconds_since(ts);

  AllocateRequest a = q.allocation;
  a.sensitivity_path = out.file("sensitivity.json");
  a.output = out.file("plan.json");
  a.seed = q.seed;
  r.allocation = run_allocate(a);

  QuantizeRequest quantize;
  quantize.model_dir = q.model_dir;
  quantize.output_dir = out.file("model");
  quantize.task = q.task;
  quantize.calib_data = s.calib_data;
  quantize.data_dir = q.data_dir;
  quantize.mode = "plan";
  quantize.plan_path = a.output;
  quantize.rounding = q.rounding;
  quantize.gptq_damp = q.gptq_damp;
  quantize.gptq_block_size = q.gptq_block_size;
  quantize.gptq_act_order = q.gptq_act_order;
  quantize.attention = q.attention;
  quantize.calib_split = s.calib_split;
  quantize.calib_size = q.gptq_calib_size;
  quantize.calib_batch_size = s.calib_batch_size;
  if (!language_model) quantize.eval_split = r.split;
  quantize.seed = q.seed;
  quantize.max_length = q.eval.max_length;
  quantize.progress = q.eval.progress;
  r.quantize = run_quantize(quantize);

  r.quantized_request = r.fp32_request;
  r.quantized_request.model_dir = quantize.output_dir;
  r.quantized = run_eval(r.quantized_request);
  // Where the model will be once the folder is committed.
  r.quantized_request.model_dir = q.output_dir + "/model";
  r.quantized.model_source = r.quantized_request.model_dir + "/model.safetensors";
  r.wall_seconds = seconds_since(t0);
  out.commit();
  return r;
}

}  // namespace squish
