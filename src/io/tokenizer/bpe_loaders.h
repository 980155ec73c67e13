// Readers that turn a byte-level BPE tokenizer's files into a ByteLevelBpeTokenizer, each as HF builds it
// from those files. Errors: IoError for a missing file, FormatError naming the file (and line or key) for
// malformed content, ConfigError for a well-formed tokenizer squish does not implement (naming what it found
// and what it reads).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "io/tokenizer/byte_level_bpe.h"

namespace squish {

// <dir>/tokenizer.json with a BPE model: vocab, merges ("a b" or ["a", "b"]), unk_token, fuse_unk,
// byte_fallback, ignore_merges; added_tokens; no normalizer; pre_tokenizer ByteLevel, or Sequence of
// Digits(individual_digits) and ByteLevel; post_processor null, ByteLevel, TemplateProcessing,
// RobertaProcessing, BertProcessing or a Sequence holding one of those. BOS/EOS/padding come from
// <dir>/tokenizer_config.json's *_token names when present, else <dir>/config.json's *_token_id.
std::unique_ptr<ByteLevelBpeTokenizer> bpe_tokenizer_from_tokenizer_json(const std::string& dir);

// <dir>/vocab.json + <dir>/merges.txt as transformers' GPT2Tokenizer reads them, with
// <dir>/tokenizer_config.json and <dir>/special_tokens_map.json when present: bos/eos/unk/pad/... tokens
// (default "<|endoftext|>" for bos, eos and unk) become special added tokens, add_bos_token/add_eos_token
// wrap every encoding, add_prefix_space. Only GPT2Tokenizer is read (tokenizer_class absent or GPT2).
std::unique_ptr<ByteLevelBpeTokenizer> bpe_tokenizer_from_vocab_merges(const std::string& dir);

// GGUF metadata (tokenizer.ggml.*) as transformers' GGUF reader builds a "gpt2" tokenizer, except that
// tokenizer.ggml.pre "smollm" keeps SmolLM2's digit split. `path_for_errors` names the file in messages.
// The same tokenizer as a spec (what bpe_tokenizer_json.h writes for an exported model).
ByteLevelBpeSpec bpe_spec_from_gguf_metadata(const nlohmann::json& metadata, const std::string& path_for_errors);
std::unique_ptr<ByteLevelBpeTokenizer> bpe_tokenizer_from_gguf_metadata(const nlohmann::json& metadata,
                                                                        const std::string& path_for_errors);

}  // namespace squish
