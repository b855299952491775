#include "actors/ring_manager.hpp"

#include <algorithm>

#include <caf/all.hpp>

namespace kv {

namespace {

struct ring_manager_state {
  std::vector<ring_listener_actor> listeners;
  ring_snapshot current = std::make_shared<const ring>();

  static inline const char* name = "ring_manager";

  // Did the ring's shape change (who is on it, where, with which tokens)?
  bool same_shape(const ring& next) const {
    auto& a = current->members();
    auto& b = next.members();
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const ring_member& x, const ring_member& y) {
                        return x.node_id == y.node_id && x.dc == y.dc
                               && x.tokens == y.tokens;
                      });
  }
};

ring_manager_actor::behavior_type
ring_manager(ring_manager_actor::stateful_pointer<ring_manager_state> self,
             std::vector<ring_listener_actor> listeners) {
  self->state.listeners = std::move(listeners);
  return {
    [=](members_atom, const std::vector<member_info>& members) {
      auto& st = self->state;
      auto next = make_ring(members, st.current->epoch() + 1);
      if (st.same_shape(next))
        return;
      st.current = std::make_shared<const ring>(std::move(next));
      for (auto& listener : st.listeners)
        self->send(listener, ring_atom::value, st.current);
    },
    [=](get_atom, ring_atom, const std::string& key, uint32_t n) {
      return self->state.current->preference_list(key, n);
    },
  };
}

} // namespace

ring_manager_actor spawn_ring_manager(caf::actor_system& sys,
                                      std::vector<ring_listener_actor> listeners) {
  return sys.spawn(ring_manager, std::move(listeners));
}

} // namespace kv
