#include "model/common/attention_arithmetic.h"

#include "core/error.h"

namespace squish {

std::string_view attention_arithmetic_name(AttentionArithmetic a) {
  return a == AttentionArithmetic::kInt8 ? "int8" : "f32";
}

AttentionArithmetic parse_attention_arithmetic(std::string_view name, const std::string& context) {
  if (name == "f32") return AttentionArithmetic::kFp32;
  if (name == "int8") return AttentionArithmetic::kInt8;
  throw FormatError(context + ": attention arithmetic '" + std::string(name) + "', expected f32 or int8");
}

}  // namespace squish
