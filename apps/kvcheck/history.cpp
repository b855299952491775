#include "apps/kvcheck/history.hpp"

#include <cstdio>
#include <sstream>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

namespace kv::check {

namespace {

constexpr const char* kind_names[] = {"put", "remove", "set_read",
                                      "set_write"};
constexpr const char* outcome_names[] = {"ok", "failed", "indeterminate"};

template <class Enum, std::size_t N>
std::optional<Enum> parse_name(const char* const (&names)[N],
                               const std::string& x) {
  for (std::size_t i = 0; i < N; ++i)
    if (x == names[i])
      return static_cast<Enum>(i);
  return std::nullopt;
}

// Reads one JSON object; property_tree keeps every value as text.
std::optional<boost::property_tree::ptree> parse_object(const std::string& line,
                                                        std::string& error) {
  boost::property_tree::ptree tree;
  std::istringstream in{line};
  try {
    boost::property_tree::read_json(in, tree);
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
  return tree;
}

} // namespace

const char* to_string(op_kind x) {
  return kind_names[static_cast<int>(x)];
}

const char* to_string(outcome x) {
  return outcome_names[static_cast<int>(x)];
}

std::optional<op_kind> parse_op_kind(const std::string& x) {
  return parse_name<op_kind>(kind_names, x);
}

std::optional<outcome> parse_outcome(const std::string& x) {
  return parse_name<outcome>(outcome_names, x);
}

std::string json_quote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string to_json(const op_record& op) {
  std::ostringstream out;
  out << "{\"id\":" << op.id << ",\"worker\":" << op.worker
      << ",\"kind\":" << json_quote(to_string(op.kind))
      << ",\"key\":" << json_quote(op.key)
      << ",\"value\":" << json_quote(op.value)
      << ",\"node\":" << json_quote(op.node) << ",\"start_ms\":" << op.start_ms
      << ",\"end_ms\":" << op.end_ms
      << ",\"outcome\":" << json_quote(to_string(op.result))
      << ",\"error\":" << json_quote(op.error)
      << ",\"siblings\":" << op.siblings << ",\"n\":" << op.n
      << ",\"r\":" << op.r << ",\"w\":" << op.w
      << ",\"timeout_ms\":" << op.timeout_ms << "}";
  return out.str();
}

std::optional<op_record> parse_op(const std::string& line, std::string& error) {
  auto tree = parse_object(line, error);
  if (!tree)
    return std::nullopt;
  try {
    op_record op;
    op.id = tree->get<uint64_t>("id");
    op.worker = tree->get<uint32_t>("worker");
    auto kind = parse_op_kind(tree->get<std::string>("kind"));
    auto result = parse_outcome(tree->get<std::string>("outcome"));
    if (!kind || !result) {
      error = "unknown kind or outcome";
      return std::nullopt;
    }
    op.kind = *kind;
    op.result = *result;
    op.key = tree->get<std::string>("key");
    op.value = tree->get<std::string>("value", "");
    op.node = tree->get<std::string>("node", "");
    op.start_ms = tree->get<uint64_t>("start_ms");
    op.end_ms = tree->get<uint64_t>("end_ms");
    op.error = tree->get<std::string>("error", "");
    op.siblings = tree->get<uint32_t>("siblings", 0);
    op.n = tree->get<uint32_t>("n", 0);
    op.r = tree->get<uint32_t>("r", 0);
    op.w = tree->get<uint32_t>("w", 0);
    op.timeout_ms = tree->get<uint32_t>("timeout_ms", 0);
    return op;
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

std::vector<std::string> set_elements(const std::string& value) {
  std::vector<std::string> out;
  std::istringstream in{value};
  std::string word;
  while (in >> word)
    out.push_back(word);
  return out;
}

std::optional<cluster_event> parse_event(const std::string& line,
                                         std::string& error) {
  auto tree = parse_object(line, error);
  if (!tree)
    return std::nullopt;
  try {
    cluster_event ev;
    ev.t_ms = tree->get<uint64_t>("t_ms");
    ev.type = tree->get<std::string>("type");
    ev.name = tree->get<std::string>("name", "");
    ev.detail = tree->get<std::string>("detail", "");
    return ev;
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

} // namespace kv::check
