// The node's own files beside its tables: identity and saved membership.
#define BOOST_TEST_MODULE node_files
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "persistence/node_files.hpp"
#include "persistence/storage_error.hpp"
#include "tests/support/temp_dir.hpp"

using namespace kv;

namespace {

struct temp_dir : kv::testing::temp_dir {
  temp_dir() : kv::testing::temp_dir("kv_node_files") {}
};

member_info member(std::string id, std::string dc) {
  member_info m;
  m.node_id = std::move(id);
  m.dc = std::move(dc);
  m.host = "10.0.0.1";
  m.port = 4000;
  m.tokens = {1, 99, 18446744073709551615ull};
  m.incarnation = 42;
  return m;
}

} // namespace

BOOST_AUTO_TEST_CASE(membership_round_trips) {
  auto leaving = member("n2", "dc2");
  leaving.status = member_status::leaving;
  std::vector<member_info> members{member("n1", "dc1"), leaving};
  auto decoded = decode_membership(encode_membership(members));
  BOOST_REQUIRE(decoded);
  BOOST_REQUIRE(decoded->size() == 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    auto& x = (*decoded)[i];
    auto& y = members[i];
    BOOST_TEST(x.node_id == y.node_id);
    BOOST_TEST(x.dc == y.dc);
    BOOST_TEST(x.host == y.host);
    BOOST_TEST(x.port == y.port);
    BOOST_TEST(x.tokens == y.tokens);
    BOOST_TEST(x.incarnation == y.incarnation);
    BOOST_TEST((x.status == y.status));
  }
}

BOOST_AUTO_TEST_CASE(damaged_membership_text_is_refused) {
  auto good = encode_membership({member("n1", "dc1")});
  BOOST_TEST(!decode_membership(""));
  BOOST_TEST(!decode_membership("something else\n"));
  BOOST_TEST(!decode_membership(good.substr(0, good.size() - 1))); // torn
  auto wrong_count = good;
  wrong_count.replace(wrong_count.find(" 3 "), 3, " 9 ");
  BOOST_TEST(!decode_membership(wrong_count));
  auto bad_port = good;
  bad_port.replace(bad_port.find("4000"), 4, "99999");
  BOOST_TEST(!decode_membership(bad_port));
  auto bad_id = good;
  bad_id.replace(bad_id.find("n1"), 2, "n/");
  BOOST_TEST(!decode_membership(bad_id));
}

BOOST_AUTO_TEST_CASE(identity_is_created_once_and_kept) {
  temp_dir dir;
  auto first = load_or_create_identity(dir.path.string(), "n1");
  BOOST_TEST(first.incarnation != 0u);
  auto again = load_or_create_identity(dir.path.string(), "n1");
  BOOST_TEST(again.incarnation == first.incarnation);
  BOOST_TEST(first.replica_id() == "n1/" + std::to_string(first.incarnation));
  temp_dir wiped;
  auto other = load_or_create_identity(wiped.path.string(), "n1");
  BOOST_TEST(other.incarnation != first.incarnation);
}

BOOST_AUTO_TEST_CASE(a_directory_of_another_node_is_refused) {
  temp_dir dir;
  load_or_create_identity(dir.path.string(), "n1");
  BOOST_CHECK_THROW(load_or_create_identity(dir.path.string(), "n2"),
                    storage_error);
  std::ofstream{dir.path / "IDENTITY"} << "garbage\n";
  BOOST_CHECK_THROW(load_or_create_identity(dir.path.string(), "n1"),
                    storage_error);
}

BOOST_AUTO_TEST_CASE(membership_file_saves_and_loads) {
  temp_dir dir;
  BOOST_TEST(load_membership(dir.path.string()).empty());
  save_membership(dir.path.string(), {member("n1", "dc1")});
  auto loaded = load_membership(dir.path.string());
  BOOST_REQUIRE(loaded.size() == 1u);
  BOOST_TEST(loaded[0].node_id == "n1");
  std::ofstream{dir.path / "MEMBERS"} << "kvactors-members 1\nn1 dc";
  BOOST_CHECK_THROW(load_membership(dir.path.string()), storage_error);
}

BOOST_AUTO_TEST_CASE(handoff_progress_round_trips_and_bad_files_count_as_none) {
  handoff_progress progress;
  progress.transition = 7;
  progress.change = "5ad1c0ffee5ad1c0/n1/00000000deadbeef";
  progress.copied = {3, 1, 900};
  progress.partial = 12;
  progress.source = "n2";
  progress.source_index = 1;
  progress.resume_after = std::string{"\x00\xff key", 6};
  auto decoded = decode_handoff_progress(encode_handoff_progress(progress));
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->transition == 7u);
  BOOST_TEST(decoded->change == progress.change);
  BOOST_TEST(decoded->copied == progress.copied);
  BOOST_REQUIRE(decoded->partial);
  BOOST_TEST(*decoded->partial == 12u);
  BOOST_TEST(decoded->source == "n2");
  BOOST_TEST(decoded->source_index == 1u);
  BOOST_TEST(decoded->resume_after == progress.resume_after);
  handoff_progress whole;
  whole.transition = 2;
  whole.change = "-/n1/0";
  auto plain = decode_handoff_progress(encode_handoff_progress(whole));
  BOOST_REQUIRE(plain);
  BOOST_TEST(!plain->partial);
  BOOST_TEST(plain->copied.empty());
  for (std::string bad :
       {"", "kvactors-handoff 2\ntransition 1\ncopied\npartial\n",
        "kvactors-handoff 1\ntransition 0\ncopied\npartial\n",
        "kvactors-handoff 1\ntransition 1\ncopied x\npartial\n",
        "kvactors-handoff 1\ntransition 1\ncopied\npartial 1 0 n2 abc\n",
        "kvactors-handoff 1\ntransition 1\ncopied\npartial 1 0 n2\n",
        // Saved before changes were named: which change it was is unknown.
        "kvactors-handoff 1\ntransition 1\ncopied 4\npartial\n"})
    BOOST_TEST(!decode_handoff_progress(bad), bad);
  temp_dir dir;
  BOOST_TEST(!load_handoff_progress(dir.path.string()));
  save_handoff_progress(dir.path.string(), progress);
  auto loaded = load_handoff_progress(dir.path.string());
  BOOST_REQUIRE(loaded);
  BOOST_TEST(loaded->copied == progress.copied);
  std::ofstream{dir.path / "HANDOFF"} << "garbage";
  BOOST_TEST(!load_handoff_progress(dir.path.string()));
  clear_handoff_progress(dir.path.string());
  BOOST_TEST(!std::filesystem::exists(dir.path / "HANDOFF"));
}

BOOST_AUTO_TEST_CASE(the_ring_file_keeps_the_cluster_name_and_reads_older_files) {
  ring_state ring;
  ring.version = 3;
  ring.claimant = "n1";
  ring.cluster = "0123456789abcdef";
  ring.partitions = 2;
  ring.replicas = 1;
  ring.current.ids = {"n1"};
  ring.current.dcs = {"dc1"};
  ring.current.slots = {0, 0};
  auto text = encode_ring(ring);
  auto decoded = decode_ring(text);
  BOOST_REQUIRE(decoded);
  BOOST_TEST((*decoded == ring));
  // A file written before clusters were named has no cluster line.
  auto unnamed = ring;
  unnamed.cluster.clear();
  auto old_text = encode_ring(unnamed);
  BOOST_TEST(old_text.find("cluster") == std::string::npos);
  auto old = decode_ring(old_text);
  BOOST_REQUIRE(old);
  BOOST_TEST(old->cluster.empty());
  // A malformed name is refused with the file.
  auto bad = text;
  bad.replace(bad.find("0123456789abcdef"), 16, "0123456789abcde!");
  BOOST_TEST(!decode_ring(bad));
}
