#include "actors/ring/ring_manager.hpp"

#include <caf/all.hpp>

#include "actors/log.hpp"

namespace kv {

namespace {

struct ring_manager_state {
  std::string self_id;
  claimant_settings settings;
  std::vector<ring_listener_actor> listeners;
  ring_snapshot current = std::make_shared<const ring>();
  // The last version planned here and not yet seen back from the gossiper:
  // not planned twice.
  uint64_t planned = 0;

  static inline const char* name = "ring_manager";

  // Routes with `held` from now on; true if it is new here.
  bool take(const ring_state& held) {
    if (held.version == 0 || held == current->state())
      return false;
    ring next;
    if (auto problem = ring::from_state(held, next)) {
      log_line(log_level::error, "ignoring an unusable ring: " + *problem);
      return false;
    }
    // This node joined another cluster: its versions start there.
    if (held.cluster != current->state().cluster)
      planned = 0;
    current = std::make_shared<const ring>(std::move(next));
    return true;
  }
};

void describe_change(const ring_state& before, const ring_state& after) {
  std::string what;
  if (before.version == 0)
    what = "created the ring with " + std::to_string(after.current.ids.size())
           + " member(s)";
  else if (before.transition == 0 && after.transition == 0)
    what = "every node routes with the last change: the old owners are no "
           "longer written";
  else if (after.transition == 0)
    what = "completed the ring change of version "
           + std::to_string(before.transition);
  else
    what = "started a ring change (members after it: "
           + std::to_string(after.next.ids.size()) + ")";
  log_line(log_level::info, "claimant: " + what + "; ring version "
                              + std::to_string(after.version));
}

ring_manager_actor::behavior_type
ring_manager(ring_manager_actor::stateful_pointer<ring_manager_state> self,
             std::string self_id, claimant_settings settings, ring_state saved,
             std::vector<ring_listener_actor> listeners) {
  auto& st = self->state;
  st.self_id = std::move(self_id);
  st.settings = std::move(settings);
  st.listeners = std::move(listeners);
  auto take = [=](const ring_state& held) {
    auto& st = self->state;
    if (st.take(held))
      for (auto& listener : st.listeners)
        self->send(listener, ring_atom::value, st.current);
  };
  take(saved);
  return {
    [=](members_atom, const std::vector<member_info>& members,
        const ring_state& held) -> ring_state {
      auto& st = self->state;
      take(held);
      if (st.planned > held.version)
        return {};
      auto plan = plan_ring_change(st.self_id, held, members, st.settings);
      if (!plan)
        return {};
      describe_change(held, *plan);
      st.planned = plan->version;
      return std::move(*plan);
    },
    [=](get_atom, ring_atom, const std::string& key, uint32_t n) {
      return self->state.current->preference_list(key, n);
    },
  };
}

} // namespace

ring_manager_actor spawn_ring_manager(caf::actor_system& sys,
                                      std::string self_id,
                                      claimant_settings settings,
                                      ring_state saved,
                                      std::vector<ring_listener_actor> listeners) {
  return sys.spawn(ring_manager, std::move(self_id), std::move(settings),
                   std::move(saved), std::move(listeners));
}

} // namespace kv
