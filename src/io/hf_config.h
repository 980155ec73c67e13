// config.json of a HF model directory → BertConfig, with every field checked: an unknown
// model_type or architecture, a non-GELU activation, relative position embeddings or sizes that
// do not divide are ConfigErrors naming the file and the field.
#pragma once

#include <string>

#include "model/bert/bert_config.h"

namespace squish {

BertConfig parse_bert_config_file(const std::string& path);
BertConfig parse_bert_config_text(const std::string& json_text, const std::string& path_for_errors);

}  // namespace squish
