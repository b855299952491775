#pragma once

// What a node keeps in its data directory beside the WiredTiger tables: its
// identity and the membership it last knew. Both are small text files,
// replaced atomically (write, fsync, rename), so an operator can read them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/membership.hpp"
#include "messages/ring_state.hpp"

namespace kv {

// Who wrote this data directory. The incarnation is drawn at random when the
// directory is first used and never changes after: a wiped directory, or a
// second process with the same node id on another directory, gets another
// one, so the dots it issues (replica id "<node>/<incarnation>") can never
// collide with the ones issued before.
struct node_identity {
  std::string node_id;
  uint64_t incarnation = 0;

  // The name this node's writes carry in version clocks.
  std::string replica_id() const;
};

// Reads <dir>/IDENTITY, or creates it for `node_id` with a fresh
// incarnation. Throws storage_error when the file names another node (the
// directory belongs to someone else) or is unreadable.
node_identity load_or_create_identity(const std::string& dir,
                                      const std::string& node_id);

// The membership file's text: a header line, then one member per line.
std::string encode_membership(const std::vector<member_info>& members);
// nullopt when the text is not a membership file or a field is invalid.
std::optional<std::vector<member_info>>
decode_membership(std::string_view text);

// <dir>/MEMBERS: the members this node last knew (empty: none saved yet).
// Throws storage_error when the file exists but is unreadable or corrupt.
std::vector<member_info> load_membership(const std::string& dir);
void save_membership(const std::string& dir,
                     const std::vector<member_info>& members);

// The ring file's text: a header line, then one labelled line per field.
std::string encode_ring(const ring_state& ring);
// nullopt when the text is not a ring file or the ring is invalid.
std::optional<ring_state> decode_ring(std::string_view text);

// <dir>/RING: the highest ring version this node has held (an empty state:
// none yet). A node never serves with an older ring than this one again.
// Throws storage_error when the file exists but is unreadable or corrupt.
ring_state load_ring(const std::string& dir);
void save_ring(const std::string& dir, const ring_state& ring);

// How far this node's handoff got with one ring change: the partitions it
// copied whole, and where the copy of the one in progress stopped (that
// source, after that stored key). A receiver that restarts goes on from
// there instead of copying every partition again.
struct handoff_progress {
  uint64_t transition = 0; // 0: nothing saved
  // Which change that number was (its cluster, claimant and target): two
  // rings may carry one transition number (another cluster, a tie between
  // claimants), and progress applies only to its own change.
  std::string change;
  std::vector<uint32_t> copied;
  std::optional<uint32_t> partial; // the partition in progress
  std::string source;        // its sources, comma-separated node ids
  uint32_t source_index = 0; // the one being read, in that list
  std::string resume_after;        // stored key (binary)
};

// The progress file's text: a header line, then one labelled line per
// field (the stored key in hex).
std::string encode_handoff_progress(const handoff_progress& progress);
// nullopt when the text is not a progress file or a field is invalid.
std::optional<handoff_progress> decode_handoff_progress(std::string_view text);

// <dir>/HANDOFF. Progress is only ever a shortcut, so an unreadable or
// corrupt file counts as none (the copy starts again, which is safe).
std::optional<handoff_progress> load_handoff_progress(const std::string& dir);
void save_handoff_progress(const std::string& dir,
                           const handoff_progress& progress);
// Removes <dir>/HANDOFF if it exists.
void clear_handoff_progress(const std::string& dir);

// Replaces `path` with `content` atomically and durably.
void replace_file(const std::string& path, std::string_view content);

} // namespace kv
