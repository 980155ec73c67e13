// What squish does with the command line before CLI11 sees it, and with CLI11's errors after: the
// Python tools' spellings accepted (--max-length for --max_length), unknown commands and flags
// answered with the closest real one, and every parse error in squish's own words
// ("squish: error: eval: --batch_size: expected an integer from 1 to 65536, found '0'").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace squish::cli {

// "--max-length" -> "--max_length", "--max-length=64" -> "--max_length=64"; other arguments unchanged.
std::vector<std::string> normalize_flag_spellings(int argc, char** argv);

// The closest of `candidates` to `word` when it is a plausible misspelling (edit distance at most 2,
// and under half the word's length), else nothing.
std::optional<std::string> closest_match(const std::string& word, const std::vector<std::string>& candidates);

// A usage error CLI11 would report less clearly: an unknown command, an unknown flag of the chosen
// command (with "did you mean"). Empty when the arguments name only known things.
std::string unknown_name_error(const CLI::App& app, const std::vector<std::string>& args);

}  // namespace squish::cli
