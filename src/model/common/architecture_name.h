// Rules about HF architecture names, shared by config parsing (io/) and the models.
#pragma once

#include <string_view>

namespace squish {

// HF's naming for a checkpoint that carries a sequence-classification head.
inline bool is_sequence_classifier(std::string_view architecture) {
  return architecture.ends_with("ForSequenceClassification");
}

}  // namespace squish
