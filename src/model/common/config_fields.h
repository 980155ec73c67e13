// Fields of a HF config.json as every architecture reads them, with the same errors: ConfigError
// "<file>: "<key>": expected ..." naming the file and the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace squish {

int64_t positive_integer_field(const nlohmann::json& config, const char* key, const std::string& file);
// The field's value, `fallback` when absent or null.
double positive_number_field(const nlohmann::json& config, const char* key, double fallback, const std::string& file);
// architectures[0], `fallback` when the config does not name one.
std::string architecture_field(const nlohmann::json& config, const std::string& fallback);

}  // namespace squish
