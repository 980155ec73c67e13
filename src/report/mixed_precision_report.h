// A mixed-precision run as one JSON document (schema squish.mixed_precision, results.json in the
// run folder) and a table: fp32 and quantized metrics, size on disk, compression, average bits,
// accuracy drop, the bit allocation and where the time went.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "eval/mixed_precision_pipeline.h"

namespace squish {

nlohmann::ordered_json mixed_precision_json(const MixedPrecisionResult& r);
std::string mixed_precision_table(const MixedPrecisionResult& r);

}  // namespace squish
