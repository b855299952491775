#include "persistence/node_files.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <limits>
#include <type_traits>
#include <random>
#include <sstream>
#include <unistd.h>

#include "messages/vector_clock.hpp"
#include "persistence/storage_error.hpp"

namespace kv {

namespace {

constexpr const char* identity_file = "IDENTITY";
constexpr const char* members_file = "MEMBERS";
constexpr std::string_view members_header = "kvactors-members 1";
constexpr const char* ring_file = "RING";
constexpr std::string_view ring_header = "kvactors-ring 1";
constexpr const char* handoff_file = "HANDOFF";
constexpr std::string_view handoff_header = "kvactors-handoff 1";
// More than any ring has partitions: a bound on what a file makes us read.
constexpr std::size_t max_progress_partitions = 1u << 20;
// Bounds what a corrupt or hostile file can make the decoder allocate.
constexpr std::size_t max_members = 4096;
constexpr std::size_t max_tokens = 4096;

std::string path_in(const std::string& dir, const char* name) {
  return dir + "/" + name;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return std::nullopt;
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad())
    throw storage_error("cannot read " + path + ": " + std::strerror(errno));
  return buf.str();
}

bool parse_u64(std::string_view text, uint64_t& out) {
  if (text.empty())
    return false;
  auto res = std::from_chars(text.data(), text.data() + text.size(), out);
  return res.ec == std::errc{} && res.ptr == text.data() + text.size();
}

// A field fit for a whitespace-separated line.
// Takes the first line off `text` if it is `header`; false if it is not.
bool strip_header(std::string_view& text, std::string_view header) {
  auto eol = text.find('\n');
  if (eol == std::string_view::npos || text.substr(0, eol) != header)
    return false;
  text.remove_prefix(eol + 1);
  return true;
}

bool plain_word(std::string_view s) {
  if (s.empty() || s.size() > 255)
    return false;
  for (char c : s)
    if (c <= ' ' || c == 0x7f)
      return false;
  return true;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < line.size()) {
    auto end = line.find(' ', pos);
    if (end == std::string_view::npos)
      end = line.size();
    out.push_back(line.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::optional<member_status> parse_status(std::string_view s) {
  for (auto st : {member_status::up, member_status::suspect, member_status::down,
                  member_status::leaving})
    if (s == to_string(st))
      return st;
  return std::nullopt;
}

} // namespace

std::string node_identity::replica_id() const {
  return node_id + "/" + std::to_string(incarnation);
}

void replace_file(const std::string& path, std::string_view content) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw storage_error("cannot write " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = errno;
      ::close(fd);
      throw storage_error("cannot write " + tmp + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw storage_error("cannot flush " + tmp + ": " + std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw storage_error("cannot replace " + path + ": " + std::strerror(errno));
  // The rename itself must reach the disk too, or a power loss could bring
  // back no IDENTITY beside data written under it.
  auto dir = path.substr(0, path.rfind('/') == std::string::npos
                              ? 0 : path.rfind('/'));
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

node_identity load_or_create_identity(const std::string& dir,
                                      const std::string& node_id) {
  auto path = path_in(dir, identity_file);
  if (auto text = read_file(path)) {
    auto line = std::string_view{*text}.substr(0, text->find('\n'));
    auto fields = words(line);
    node_identity id;
    if (fields.size() != 2 || !valid_node_id(fields[0])
        || !parse_u64(fields[1], id.incarnation) || id.incarnation == 0)
      throw storage_error(path + " is corrupt: expected \"<node-id> "
                                 "<incarnation>\"; restore it or wipe the "
                                 "directory");
    id.node_id = std::string{fields[0]};
    if (id.node_id != node_id)
      throw storage_error("the data directory " + dir + " belongs to node '"
                          + id.node_id + "', not '" + node_id
                          + "': use that node id or another directory");
    return id;
  }
  // Random, not a clock: two processes started in the same millisecond with
  // the same id must still differ. Below 2^40 keeps clocks readable.
  std::random_device rd;
  uint64_t draw = (uint64_t{rd()} << 32) ^ rd();
  node_identity id{node_id, draw % ((uint64_t{1} << 40) - 1) + 1};
  replace_file(path, id.node_id + " " + std::to_string(id.incarnation) + "\n");
  return id;
}

std::string encode_membership(const std::vector<member_info>& members) {
  std::string out{members_header};
  out += '\n';
  for (auto& m : members) {
    out += m.node_id + ' ' + m.dc + ' ' + m.host + ' ' + std::to_string(m.port)
           + ' ' + to_string(m.status) + ' ' + std::to_string(m.incarnation)
           + ' ' + std::to_string(m.tokens.size());
    for (auto t : m.tokens)
      out += ' ' + std::to_string(t);
    out += '\n';
  }
  return out;
}

std::optional<std::vector<member_info>>
decode_membership(std::string_view text) {
  if (!strip_header(text, members_header))
    return std::nullopt;
  std::vector<member_info> result;
  while (!text.empty()) {
    auto eol = text.find('\n');
    if (eol == std::string_view::npos || result.size() >= max_members)
      return std::nullopt; // a torn last line or too many members
    auto fields = words(text.substr(0, eol));
    text.remove_prefix(eol + 1);
    if (fields.size() < 7)
      return std::nullopt;
    member_info m;
    uint64_t port = 0;
    uint64_t count = 0;
    auto status = parse_status(fields[4]);
    if (!valid_node_id(fields[0]) || !plain_word(fields[1])
        || !plain_word(fields[2]) || !parse_u64(fields[3], port)
        || port > 65535 || !status || !parse_u64(fields[5], m.incarnation)
        || !parse_u64(fields[6], count) || count > max_tokens
        || fields.size() != 7 + count)
      return std::nullopt;
    m.node_id = std::string{fields[0]};
    m.dc = std::string{fields[1]};
    m.host = std::string{fields[2]};
    m.port = static_cast<uint16_t>(port);
    m.status = *status;
    m.tokens.resize(count);
    for (std::size_t i = 0; i < count; ++i)
      if (!parse_u64(fields[7 + i], m.tokens[i]))
        return std::nullopt;
    result.push_back(std::move(m));
  }
  return result;
}

std::vector<member_info> load_membership(const std::string& dir) {
  auto path = path_in(dir, members_file);
  auto text = read_file(path);
  if (!text)
    return {};
  auto members = decode_membership(*text);
  if (!members)
    throw storage_error(path + " is corrupt; remove it to rejoin through "
                               "the seeds");
  return std::move(*members);
}

void save_membership(const std::string& dir,
                     const std::vector<member_info>& members) {
  replace_file(path_in(dir, members_file), encode_membership(members));
}

namespace {

template <class T>
std::string joined_line(const char* label, const std::vector<T>& items) {
  std::string out{label};
  for (auto& item : items) {
    out += ' ';
    if constexpr (std::is_same_v<T, std::string>)
      out += item;
    else
      out += std::to_string(item);
  }
  return out + '\n';
}

// The words after `label` on the next line of `text`, consuming it.
std::optional<std::vector<std::string_view>>
labelled(std::string_view& text, std::string_view label) {
  auto eol = text.find('\n');
  if (eol == std::string_view::npos)
    return std::nullopt;
  auto fields = words(text.substr(0, eol));
  text.remove_prefix(eol + 1);
  if (fields.empty() || fields.front() != label)
    return std::nullopt;
  fields.erase(fields.begin());
  return fields;
}

bool read_words(std::string_view& text, std::string_view label,
                std::vector<std::string>& out) {
  auto fields = labelled(text, label);
  if (!fields)
    return false;
  for (auto f : *fields) {
    if (!plain_word(f))
      return false;
    out.emplace_back(f);
  }
  return true;
}

template <class Int>
bool read_numbers(std::string_view& text, std::string_view label,
                  std::vector<Int>& out) {
  auto fields = labelled(text, label);
  if (!fields)
    return false;
  for (auto f : *fields) {
    uint64_t x = 0;
    if (!parse_u64(f, x) || x > std::numeric_limits<Int>::max())
      return false;
    out.push_back(static_cast<Int>(x));
  }
  return true;
}

} // namespace

std::string encode_ring(const ring_state& ring) {
  std::string out{ring_header};
  out += '\n';
  out += joined_line("version", std::vector<uint64_t>{ring.version});
  out += joined_line("claimant", std::vector<std::string>{ring.claimant});
  // Rings saved before clusters were named have no such line.
  if (!ring.cluster.empty())
    out += joined_line("cluster", std::vector<std::string>{ring.cluster});
  out += joined_line("shape", std::vector<uint64_t>{ring.partitions,
                                                    ring.replicas});
  out += joined_line("transition", std::vector<uint64_t>{ring.transition});
  for (auto [prefix, a] : {std::pair{"current", &ring.current},
                           std::pair{"next", &ring.next},
                           std::pair{"previous", &ring.previous}}) {
    out += joined_line((std::string{prefix} + "-ids").c_str(), a->ids);
    out += joined_line((std::string{prefix} + "-dcs").c_str(), a->dcs);
    out += joined_line((std::string{prefix} + "-slots").c_str(), a->slots);
  }
  out += joined_line("removed", ring.removed);
  return out;
}

std::optional<ring_state> decode_ring(std::string_view text) {
  if (!strip_header(text, ring_header))
    return std::nullopt;
  ring_state ring;
  std::vector<uint64_t> version, shape, transition;
  std::vector<std::string> claimant, cluster;
  if (!read_numbers(text, "version", version) || version.size() != 1
      || !read_words(text, "claimant", claimant) || claimant.size() > 1
      || (text.substr(0, 8) == "cluster "
          && (!read_words(text, "cluster", cluster) || cluster.size() != 1))
      || !read_numbers(text, "shape", shape) || shape.size() != 2
      || shape[0] > UINT32_MAX || shape[1] > UINT32_MAX
      || !read_numbers(text, "transition", transition)
      || transition.size() != 1)
    return std::nullopt;
  ring.version = version[0];
  ring.claimant = claimant.empty() ? std::string{} : claimant[0];
  ring.cluster = cluster.empty() ? std::string{} : cluster[0];
  ring.partitions = static_cast<uint32_t>(shape[0]);
  ring.replicas = static_cast<uint32_t>(shape[1]);
  ring.transition = transition[0];
  for (auto [prefix, a] : {std::pair{"current", &ring.current},
                           std::pair{"next", &ring.next},
                           std::pair{"previous", &ring.previous}}) {
    if (!read_words(text, std::string{prefix} + "-ids", a->ids)
        || !read_words(text, std::string{prefix} + "-dcs", a->dcs)
        || !read_numbers(text, std::string{prefix} + "-slots", a->slots))
      return std::nullopt;
  }
  if (!read_words(text, "removed", ring.removed) || !text.empty()
      || ring_problem(ring))
    return std::nullopt;
  return ring;
}

ring_state load_ring(const std::string& dir) {
  auto path = path_in(dir, ring_file);
  auto text = read_file(path);
  if (!text)
    return {};
  auto ring = decode_ring(*text);
  if (!ring)
    throw storage_error(path + " is corrupt; remove it to take the ring from "
                               "the other nodes");
  return std::move(*ring);
}

void save_ring(const std::string& dir, const ring_state& ring) {
  replace_file(path_in(dir, ring_file), encode_ring(ring));
}

namespace {

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view text) {
  if (text.size() % 2 != 0)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    auto hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

} // namespace

std::string encode_handoff_progress(const handoff_progress& progress) {
  std::string out{handoff_header};
  out += '\n';
  out += joined_line("transition",
                     std::vector<uint64_t>{progress.transition});
  out += joined_line("change", std::vector<std::string>{progress.change});
  out += joined_line("copied", progress.copied);
  std::vector<std::string> partial;
  if (progress.partial)
    partial = {std::to_string(*progress.partial),
               std::to_string(progress.source_index), progress.source,
               progress.resume_after.empty() ? std::string{"-"}
                                             : to_hex(progress.resume_after)};
  out += joined_line("partial", partial);
  return out;
}

std::optional<handoff_progress> decode_handoff_progress(std::string_view text) {
  if (!strip_header(text, handoff_header))
    return std::nullopt;
  handoff_progress progress;
  std::vector<uint64_t> transition;
  std::vector<std::string> partial, change;
  if (!read_numbers(text, "transition", transition) || transition.size() != 1
      || transition[0] == 0
      || !read_words(text, "change", change) || change.size() != 1
      || !read_numbers(text, "copied", progress.copied)
      || progress.copied.size() > max_progress_partitions
      || !read_words(text, "partial", partial) || !text.empty()
      || (!partial.empty() && partial.size() != 4))
    return std::nullopt;
  progress.transition = transition[0];
  progress.change = std::move(change[0]);
  if (!partial.empty()) {
    uint64_t partition = 0, index = 0;
    if (!parse_u64(partial[0], partition) || partition > UINT32_MAX
        || !parse_u64(partial[1], index) || index > UINT32_MAX)
      return std::nullopt;
    auto resume = partial[3] == "-" ? std::optional<std::string>{""}
                                    : from_hex(partial[3]);
    if (!resume)
      return std::nullopt;
    progress.partial = static_cast<uint32_t>(partition);
    progress.source_index = static_cast<uint32_t>(index);
    progress.source = partial[2];
    progress.resume_after = std::move(*resume);
  }
  return progress;
}

std::optional<handoff_progress> load_handoff_progress(const std::string& dir) {
  std::optional<std::string> text;
  try {
    text = read_file(path_in(dir, handoff_file));
  } catch (const storage_error&) {
    return std::nullopt;
  }
  if (!text)
    return std::nullopt;
  return decode_handoff_progress(*text);
}

void save_handoff_progress(const std::string& dir,
                           const handoff_progress& progress) {
  replace_file(path_in(dir, handoff_file), encode_handoff_progress(progress));
}

void clear_handoff_progress(const std::string& dir) {
  std::error_code ignored;
  std::filesystem::remove(path_in(dir, handoff_file), ignored);
}

} // namespace kv
