// Writes the fuzzers' seed corpora: a few valid encodings of each input kind,
// made by the project's own encoders, so every run starts from inputs that
// reach deep into the decoders. Usage: make_seeds DIR (creates
// DIR/record_codec, DIR/wire and DIR/shell_parser).

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <caf/binary_serializer.hpp>

#include "messages/caf_types.hpp"
#include "persistence/record_codec.hpp"

namespace fs = std::filesystem;

namespace {

void write_seed(const fs::path& dir, int& n, const std::string& bytes) {
  std::ofstream out(dir / ("seed" + std::to_string(n++)), std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

kv::versioned_value sample_version(const std::string& node, uint64_t counter,
                                   bool tombstone) {
  kv::versioned_value v;
  v.origin = kv::dot{node, counter};
  v.context = kv::vector_clock{{{"n1", 2, 1700000000000}, {"n2/7", 1, 5}}};
  v.timestamp_ms = 1700000000123;
  v.tombstone = tombstone;
  if (!tombstone)
    v.value = "value of " + node;
  return v;
}

kv::member_info sample_member() {
  kv::member_info m;
  m.node_id = "n1";
  m.dc = "dc1";
  m.host = "127.0.0.1";
  m.port = 4000;
  m.tokens = {1, 1ull << 40, ~0ull};
  m.heartbeat = 42;
  m.status = kv::member_status::suspect;
  m.ring_epoch = 3;
  return m;
}

// A wire seed: the fuzzer's type selector byte, then CAF's encoding.
template <class T>
std::string wire(uint8_t selector, T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  if (sink(x))
    std::abort();
  return std::string(1, static_cast<char>(selector))
         + std::string(buf.begin(), buf.end());
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  fs::path root = argv[1];
  int n = 0;

  auto dir = root / "record_codec";
  fs::create_directories(dir);
  kv::sibling_list siblings{sample_version("n1", 3, false),
                            sample_version("n2", 1, true)};
  write_seed(dir, n, kv::encode_key_record({}));
  write_seed(dir, n, kv::encode_key_record({siblings, 7}));
  kv::hint h{"n3", "user:1", siblings, 1700000000000};
  write_seed(dir, n, kv::encode_hint(h));

  dir = root / "wire";
  fs::create_directories(dir);
  write_seed(dir, n, wire(0, siblings[0].context));
  write_seed(dir, n, wire(1, siblings[0]));
  write_seed(dir, n, wire(2, siblings));
  write_seed(dir, n, wire(3, sample_member()));
  write_seed(dir, n, wire(4, h));
  write_seed(dir, n, wire(5, kv::request_options{}));
  write_seed(dir, n, wire(6, std::vector<kv::member_info>{sample_member()}));
  kv::ring_state ring;
  ring.version = 3;
  ring.claimant = "n1";
  ring.partitions = 4;
  ring.replicas = 2;
  ring.current = {{"n1", "n2"}, {"dc1", "dc2"}, {0, 1, 1, 0, 0, 1, 1, 0}};
  ring.next = {{"n1", "n2", "n3"}, {"dc1", "dc2", "dc1"},
               {0, 1, 1, 2, 2, 0, 1, 2}};
  ring.transition = 3;
  ring.removed = {"n9/42"};
  write_seed(dir, n, wire(7, ring));
  kv::partition_chunk chunk;
  chunk.keys = {"k1", "k2"};
  chunk.versions = {siblings, siblings};
  chunk.resume_after = std::string(8, '\x01') + "k2";
  write_seed(dir, n, wire(8, chunk));

  dir = root / "shell_parser";
  fs::create_directories(dir);
  for (auto line : {"put user:1 alice", "get user:1 r=3 n=3 timeout=500",
                    "put k \"a b\\x41\\n\" ctx=n1:3@1700000000000,n2/4:1@0",
                    "delete k ctx=@ w=1 strict=1", "connect 127.0.0.1 4000",
                    "ring k", "replica n1 k", "# comment", "nodes", "hints"})
    write_seed(dir, n, line);
  // The first byte sets the piece size the bytes are split into.
  dir = root / "resp_reader";
  fs::create_directories(dir);
  for (auto bytes :
       {"\x03*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n",
        "\x01*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n",
        "\x05PING\r\nset k \"a b\\x41\" 'it\\'s'\n",
        "\x02*0\r\n*-1\r\n*1\r\n$-1\r\n", "\x07*1\r\n$2\r\nabc\r\n"})
    write_seed(dir, n, bytes);
  return 0;
}
