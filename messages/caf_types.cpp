#include "messages/caf_types.hpp"

#include <caf/all.hpp>

#include "messages/interfaces.hpp"
#include "messages/request_stats.hpp"

namespace kv {

caf::error make_kv_error(kv_errc code, std::string detail) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(detail))};
}

caf::error load_error(const char* type,
                      const std::optional<std::string>& problem) {
  if (!problem)
    return caf::none;
  return make_kv_error(kv_errc::invalid_argument,
                       std::string{"received "} + type + ": " + *problem);
}

bool is_kv_error(const caf::error& err, kv_errc code) {
  return err && err.category() == error_category
         && err.code() == static_cast<uint8_t>(code);
}

namespace {

std::string detail_of(const caf::message& context) {
  if (context.match_elements<std::string>())
    return context.get_as<std::string>(0);
  return context.empty() ? std::string{} : caf::to_string(context);
}

std::string render_kv_error(uint8_t code, caf::atom_value,
                            const caf::message& context) {
  std::string out = to_string(static_cast<kv_errc>(code));
  auto detail = detail_of(context);
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

} // namespace

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  if (err.category() == error_category)
    return render_kv_error(err.code(), err.category(), err.context());
  if (err == caf::sec::request_timeout)
    return "timeout: no reply in time";
  if (err == caf::sec::request_receiver_down)
    return "unreachable: the node went away before replying";
  if (err == caf::sec::unexpected_message)
    return "protocol mismatch: the peer did not understand the request";
  return caf::to_string(err);
}

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<dot>("kv_dot");
  cfg.add_message_type<clock_entry>("kv_clock_entry");
  cfg.add_message_type<vector_clock>("kv_vector_clock");
  cfg.add_message_type<versioned_value>("kv_versioned_value");
  cfg.add_message_type<request_options>("kv_request_options");
  cfg.add_message_type<put_result>("kv_put_result");
  cfg.add_message_type<get_result>("kv_get_result");
  cfg.add_message_type<store_stats>("kv_store_stats");
  cfg.add_message_type<request_stats>("kv_request_stats");
  cfg.add_message_type<hint_stats>("kv_hint_stats");
  cfg.add_message_type<node_load>("kv_node_load");
  cfg.add_message_type<node_stats>("kv_node_stats");
  cfg.add_message_type<autoscale_status>("kv_autoscale_status");
  cfg.add_message_type<member_info>("kv_member_info");
  cfg.add_message_type<hint>("kv_hint");
  cfg.add_message_type<partition_chunk>("kv_partition_chunk");
  cfg.add_message_type<key_digests>("kv_key_digests");
  cfg.add_message_type<aae_partition>("kv_aae_partition");
  cfg.add_message_type<std::vector<aae_partition>>("kv_aae_partitions");
  cfg.add_message_type<reap_status>("kv_reap_status");
  cfg.add_message_type<std::vector<uint32_t>>("kv_u32_list");
  cfg.add_message_type<ring_state>("kv_ring_state");
  cfg.add_message_type<node_card>("kv_node_card");
  cfg.add_message_type<std::vector<replica_store_actor>>("kv_store_list");
  cfg.add_message_type<std::vector<std::string>>("kv_string_list");
  cfg.add_message_type<std::vector<uint64_t>>("kv_u64_list");
  cfg.add_message_type<std::vector<int64_t>>("kv_i64_list");
  cfg.add_message_type<coordinator_actor>("kv_coordinator_actor");
  cfg.add_message_type<replica_store_actor>("kv_replica_store_actor");
  cfg.add_message_type<gossiper_actor>("kv_gossiper_actor");
  cfg.add_message_type<ring_manager_actor>("kv_ring_manager_actor");
  cfg.add_message_type<hint_buffer_actor>("kv_hint_buffer_actor");
  cfg.add_message_type<merkle_syncer_actor>("kv_merkle_syncer_actor");
  cfg.add_message_type<tombstone_reaper_actor>("kv_tombstone_reaper_actor");
  cfg.add_message_type<handoff_actor>("kv_handoff_actor");
  cfg.add_message_type<autoscaler_actor>("kv_autoscaler_actor");
  cfg.add_error_category(error_category, render_kv_error);
}

} // namespace kv
