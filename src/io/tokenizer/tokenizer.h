// What the evaluation runner needs from a tokenizer of any kind: text (or a text pair) to ids,
// the padding id and the vocabulary size, and for causal LMs the ids alone and the BOS/EOS ids.
// WordPiece (wordpiece.h) and byte-level BPE (byte_level_bpe.h) implement it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
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
  // The ids of one text, never truncated: HF `tokenizer(text, add_special_tokens=...)["input_ids"]`.
  virtual std::vector<int32_t> encode_ids(std::string_view text, bool add_special_tokens) const = 0;
  // The fewest tokens an encoding has (its special tokens): max_length below this is refused.
  virtual int min_length(bool pair) const = 0;
  virtual int32_t pad_id() const = 0;
  virtual size_t vocab_size() const = 0;
  // Whether the model takes token_type_ids (HF's model_input_names): BERT does, causal LMs do not.
  virtual bool uses_token_type_ids() const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;
};

// HF's longest_first pair truncation to `budget` ids in all: the longer side is cut first, down to the
// length of the shorter if need be; when both must be cut, the budget is split in half, the longer side
// (b on ties) getting the odd id. Each side keeps its first ids. Returns whether anything was cut.
bool truncate_longest_first(std::vector<int32_t>& a, std::vector<int32_t>& b, size_t budget);

// The tokenizer of a HF model directory or of a GGUF file. A directory is read by the first of:
// vocab.txt (+ tokenizer_config.json): WordPiece; tokenizer.json: byte-level BPE; vocab.json + merges.txt
// (+ tokenizer_config.json, special_tokens_map.json): byte-level BPE; exactly one *.gguf and none of those:
// byte-level BPE from its metadata. IoError naming the path and what was looked for when none is there.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace squish
