// A byte-level BPE tokenizer written as HF `tokenizers` files: tokenizer.json (model, pre-tokenizer,
// added tokens, post-processor) and tokenizer_config.json (which tokens are BOS, EOS and padding), so
// a model whose tokenizer came from elsewhere (a GGUF's metadata) is exported as a directory
// transformers and squish both read with the same ids.
#pragma once

#include <nlohmann/json.hpp>

#include "io/tokenizer/byte_level_bpe.h"

namespace squish {

nlohmann::ordered_json bpe_tokenizer_json(const ByteLevelBpeSpec& spec);
nlohmann::ordered_json bpe_tokenizer_config(const ByteLevelBpeSpec& spec);

}  // namespace squish
