#pragma once

// kvnode's configuration file: CAF 0.17's INI dialect. kvnode checks a file
// itself before CAF reads it, because CAF ignores keys it does not know (a
// typo silently leaves the default in force) and reports syntax errors as
// raw parser codes. The format, as `kvnode --dump-config` writes it:
//
//   ; comment (only ';' starts one)
//   [global]              ; kvnode's own options
//   node-id = "n1"        ; strings in double quotes
//   port = 4000           ; numbers as they are
//   [scheduler]           ; CAF's own sections are accepted too
//   max-threads = 2

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kv {

// What a checker needs to know about an option.
enum class option_kind { unknown, text, number, other };

// The kind of `section`.`key` (text: its value must be quoted; number:
// digits only).
using option_lookup
  = std::function<option_kind(std::string_view section, std::string_view key)>;

// The first problem of `text`, as "line N: what is wrong and how to fix it";
// nothing if kvnode would read it as meant.
std::optional<std::string> config_text_problem(std::string_view text,
                                               const option_lookup& lookup);

// One option of the [global] section as --dump-config shows it.
struct documented_option {
  std::string name;
  std::string description;
  std::string value; // in file syntax: quoted for text
};

// The file that sets exactly `options` (in this order), each after its
// description as a comment, below a header that explains the format.
std::string render_config(const std::vector<documented_option>& options);

// The first line of the file at `path` (a password): nullopt with `error`
// set when the file cannot be read or its first line is empty or longer
// than 512 bytes.
std::optional<std::string> read_password_file(const std::string& path,
                                              std::string& error);

// "line L, column C" out of CAF's rendering of one of its parser errors, so
// a file error names its place; nothing if `caf_error` has none.
std::optional<std::string> parser_error_place(std::string_view caf_error);

// The command-line argument ("--port=abc") named in CAF's rendering of a
// parser error, if any.
std::optional<std::string> parser_error_argument(std::string_view caf_error);

} // namespace kv
