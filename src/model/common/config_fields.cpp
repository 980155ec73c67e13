#include "model/common/config_fields.h"

#include "core/error.h"

namespace squish {

int64_t positive_integer_field(const nlohmann::json& j, const char* key, const std::string& file) {
  if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() <= 0)
    throw ConfigError(file + ": \"" + key + "\": expected a positive integer");
  return j[key].get<int64_t>();
}

double positive_number_field(const nlohmann::json& j, const char* key, double fallback, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number() || j[key].get<double>() <= 0)
    throw ConfigError(file + ": \"" + key + "\": expected a positive number");
  return j[key].get<double>();
}

std::string architecture_field(const nlohmann::json& j, const std::string& fallback) {
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    return j["architectures"][0].get<std::string>();
  return fallback;
}

}  // namespace squish
