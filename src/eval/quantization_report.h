// quantization.json, written beside a quantized model: what was done to every Linear and with
// which data, so a run can be audited and repeated (schema squish.quantization, docs/formats.md).
#pragma once

#include <nlohmann/json.hpp>

#include "eval/quantize_pipeline.h"

namespace squish {

nlohmann::ordered_json quantization_json(const QuantizeResult& r);

}  // namespace squish
