// What the evaluation runner needs from a tokenizer of any kind: text (or a text pair) to ids,
// the padding id and the vocabulary size. WordPiece implements it (wordpiece.h); byte-level BPE
// for OPT-style models will be a sibling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace squish {

// One encoded input, unpadded: every vector has one entry per real token.
struct Encoding {
  std::vector<int32_t> input_ids, token_type_ids, attention_mask;
  bool truncated = false;  // tokens were cut to fit max_length
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // The model's input for one text, special tokens added, at most max_length ids.
  virtual Encoding encode(std::string_view text, int max_length) const = 0;
  virtual Encoding encode_pair(std::string_view a, std::string_view b, int max_length) const = 0;
  // The fewest tokens an encoding has (its special tokens): max_length below this is refused.
  virtual int min_length(bool pair) const = 0;
  virtual int32_t pad_id() const = 0;
  virtual size_t vocab_size() const = 0;
};

// The tokenizer of a HF model directory (vocab.txt + tokenizer_config.json: WordPiece).
// IoError naming the directory when it holds no tokenizer squish reads.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir);

}  // namespace squish
