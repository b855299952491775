#include "messages/endpoint.hpp"

#include <algorithm>
#include <cctype>

namespace kv {

std::string endpoint::to_string() const {
  return host + ":" + std::to_string(port);
}

std::optional<std::vector<endpoint>>
parse_endpoints(const std::string& text, const std::string& what,
                std::string& error) {
  std::vector<endpoint> result;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string::npos ? std::string::npos
                                                            : comma - pos);
    pos = comma == std::string::npos ? text.size() : comma + 1;
    if (item.empty())
      continue;
    auto colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) {
      error = what + " '" + item + "' is not host:port";
      return std::nullopt;
    }
    auto port_text = item.substr(colon + 1);
    auto digit = [](unsigned char c) { return std::isdigit(c) != 0; };
    if (!std::all_of(port_text.begin(), port_text.end(), digit)
        || port_text.size() > 5 || std::stoul(port_text) == 0
        || std::stoul(port_text) > 65535) {
      error = what + " '" + item + "' has an invalid port";
      return std::nullopt;
    }
    result.push_back(endpoint{item.substr(0, colon),
                              static_cast<uint16_t>(std::stoul(port_text))});
  }
  return result;
}

} // namespace kv
