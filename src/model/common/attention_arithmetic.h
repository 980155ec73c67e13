// The arithmetic of a model's attention products (QKᵀ and P·V): fp32, or int8 with the scales of
// kernels/attention_int8.h. Part of what a saved model means, so a container records it
// (metadata `squish.attention`, docs/formats.md).
#pragma once

#include <string>
#include <string_view>

namespace squish {

enum class AttentionArithmetic { kFp32, kInt8 };

std::string_view attention_arithmetic_name(AttentionArithmetic a);  // "f32" | "int8"
// FormatError naming `context` for any other name.
AttentionArithmetic parse_attention_arithmetic(std::string_view name, const std::string& context);

}  // namespace squish
