#include "actors/autoscale/autoscaler.hpp"

#include <deque>
#include <map>
#include <memory>
#include <optional>

#include <caf/all.hpp>

#include "actors/autoscale/cluster_load.hpp"
#include "actors/autoscale/provision_command.hpp"
#include "actors/autoscale/scaling_policy.hpp"
#include "actors/autoscale/target_settings.hpp"
#include "actors/log.hpp"

namespace kv {

namespace {

// How many decisions kvsh `autoscale` shows.
constexpr std::size_t kept_decisions = 20;

// How long an operator's request to another node may take.
constexpr std::chrono::seconds peer_timeout{5};

uint64_t steady_ms() {
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now().time_since_epoch())
      .count());
}

// The decision being carried out.
struct action_in_progress {
  // grow: provisioning -> joining. shrink: provisioning (check-shrink) ->
  // leaving -> draining -> provisioning (shrink).
  enum class step { provisioning, leaving, draining, joining };
  scale_action action = scale_action::none;
  std::string node; // shrink: the node that leaves
  step at = step::provisioning;
  uint64_t step_started_ms = 0;
  // shrink: the leaver's own last load measurement (its clock) when the ring
  // stopped listing it; its hints count once a later one shows none.
  uint64_t load_ms_at_leave = 0;
  bool already_left = false; // resumed: it left under an earlier action
  std::size_t target_nodes = 0; // ring members once done
  std::string verb; // what the provisioner was asked: grow, check-shrink, shrink
  std::unique_ptr<provision_command> command;
};

struct autoscaler_state {
  autoscaler_settings settings;
  std::optional<scaling_policy> policy;
  std::map<std::string, node_card> cards;
  ring_snapshot ring;      // from the ring manager
  gossiper_actor gossiper; // this node's: the members, freshest

  std::deque<autoscale_event> decisions;
  std::optional<action_in_progress> action;
  std::string decider;
  std::string state_line = "starting";
  std::vector<node_sample> load;
  bool sampling = false; // a ring request is out
  uint64_t last_finish_ms = 0; // steady: when the last action ended
  // Members seen leaving and off the ring, since when (steady), without a
  // break: taken up only after a cooldown, so a shrink another decider
  // still runs is not taken over.
  std::map<std::string, uint64_t> stranded_since;

  static inline const char* name = "autoscaler";
};

using autoscaler_pointer
  = autoscaler_node_actor::stateful_pointer<autoscaler_state>;

const char* step_name(action_in_progress::step s) {
  switch (s) {
    case action_in_progress::step::leaving:
      return "waiting for the node to leave the ring";
    case action_in_progress::step::draining:
      return "waiting for the node to deliver its hints";
    case action_in_progress::step::provisioning:
      return "running the provisioner";
    default:
      return "waiting for the new node to join the ring";
  }
}

void log_event(const autoscale_event& e) {
  log_line(log_level::info, "autoscale: " + e.action
                              + (e.node.empty() ? "" : " " + e.node) + ": "
                              + e.outcome + " (" + e.reason + ")");
}

void finish(autoscaler_pointer self, std::string outcome) {
  auto& st = self->state;
  auto& event = st.decisions.back();
  event.outcome = std::move(outcome);
  log_event(event);
  st.action.reset();
  st.last_finish_ms = steady_ms();
}

void next_step(autoscaler_pointer self, action_in_progress::step step) {
  auto& a = *self->state.action;
  a.at = step;
  a.step_started_ms = steady_ms();
}

void run_provisioner(autoscaler_pointer self, std::string verb) {
  auto& st = self->state;
  auto& a = *st.action;
  a.verb = std::move(verb);
  std::vector<std::string> args{a.verb};
  if (!a.node.empty())
    args.push_back(a.node);
  auto& event = st.decisions.back();
  std::vector<std::pair<std::string, std::string>> env{
    {"KV_AUTOSCALE_ACTION", a.verb},
    {"KV_AUTOSCALE_NODE", a.node},
    {"KV_AUTOSCALE_NODES", std::to_string(st.load.size())},
    {"KV_AUTOSCALE_TARGET", std::to_string(a.target_nodes)},
    {"KV_AUTOSCALE_REASON", event.reason}};
  try {
    a.command = std::make_unique<provision_command>(st.settings.command, args,
                                                    env);
    next_step(self, action_in_progress::step::provisioning);
    log_line(log_level::info, "autoscale: running the provisioner: "
                                + st.settings.command + " " + a.verb
                                + (a.node.empty() ? "" : " " + a.node));
  } catch (const std::exception& e) {
    finish(self, std::string{"failed: "} + e.what());
  }
}

void record(autoscaler_state& st, const scaling_decision& decision) {
  autoscale_event event;
  event.wall_ms = wall_clock_ms();
  event.action = to_string(decision.action);
  event.node = decision.node;
  event.reason = decision.reason;
  event.outcome = "in progress";
  if (st.decisions.size() >= kept_decisions)
    st.decisions.pop_front();
  st.decisions.push_back(event);
}

void start(autoscaler_pointer self, const scaling_decision& decision,
           bool already_left = false) {
  auto& st = self->state;
  record(st, decision);
  if (st.settings.command.empty()) {
    st.decisions.back().outcome
      = "advice only: no provisioner is set (--autoscale-command)";
    log_event(st.decisions.back());
    return;
  }
  log_event(st.decisions.back());
  st.action.emplace();
  auto& a = *st.action;
  a.action = decision.action;
  a.node = decision.node;
  a.already_left = already_left;
  // Ring members once done (a node that already left is not among them).
  a.target_nodes = decision.action == scale_action::grow ? st.load.size() + 1
                   : already_left                        ? st.load.size()
                                                         : st.load.size() - 1;
  // A shrink asks the provisioner first whether it can stop the node: a
  // leave cannot be undone, and a node that left but is not stopped would
  // idle on for good.
  run_provisioner(self, decision.action == scale_action::grow ? "grow"
                                                              : "check-shrink");
}

void ask_to_leave(autoscaler_pointer self) {
  auto& st = self->state;
  auto node = st.action->node;
  auto card = st.cards.find(node);
  if (card == st.cards.end() || !card->second.coordinator) {
    finish(self, "failed: " + node + " is not reachable from here");
    return;
  }
  next_step(self, action_in_progress::step::leaving);
  self->request(card->second.coordinator, peer_timeout, leave_atom::value)
    .then(
      [=](const std::string& reply) {
        log_line(log_level::info, "autoscale: " + reply);
      },
      [=](caf::error& err) {
        auto& st = self->state;
        if (!st.action || st.action->node != node
            || st.action->at != action_in_progress::step::leaving)
          return;
        // Refused (it holds no partition, it is not up...): nothing left.
        // No answer in time: the leave may be under way; the ring tells.
        if (err.category() == error_category)
          finish(self, "failed: " + node + " refused the leave: "
                         + self->system().render(err));
        else
          log_line(log_level::warning,
                   "autoscale: no answer from " + node + " to the leave ("
                     + self->system().render(err)
                     + "); waiting for the ring to show it");
      });
}

// Why the shrink decided a while ago may no longer go ahead (the
// provisioner's check took time): the node must still be an up member of a
// settled ring above the floor.
std::optional<std::string> shrink_obsolete(const autoscaler_state& st,
                                           const std::string& node,
                                           const cluster_sample& sample) {
  if (sample.ring_changing)
    return "the ring is changing (" + sample.unsettled + ")";
  auto& t = st.policy->targets();
  if (sample.nodes.size() <= std::max(t.min_nodes, t.replication))
    return std::string{"the cluster is at its floor"};
  bool member = false;
  for (auto& n : sample.nodes) {
    if (!n.up)
      return n.node_id + " is not up";
    member = member || n.node_id == node;
  }
  if (!member)
    return node + " is no longer on the ring";
  return std::nullopt;
}

// The leaver's own latest load measurement (0: none known).
uint64_t load_ms_of(const std::vector<member_info>& members,
                    const std::string& node) {
  for (auto& m : members)
    if (m.node_id == node)
      return m.load.measured_ms;
  return 0;
}

// One step of the action in progress, on a fresh sample. A step that is
// done counts even when checked after its time ran out.
void advance(autoscaler_pointer self, const ring_state& ring,
             const std::vector<member_info>& members,
             const cluster_sample& sample) {
  auto& st = self->state;
  auto& a = *st.action;
  auto step_at_start = a.at;
  auto started = a.step_started_ms;
  switch (a.at) {
    case action_in_progress::step::leaving:
      // Its partitions are handed over once no assignment lists it and no
      // change drains.
      if (!on_ring(ring, a.node) && ring.transition == 0
          && ring.previous.empty()) {
        a.load_ms_at_leave = load_ms_of(members, a.node);
        next_step(self, action_in_progress::step::draining);
      }
      break;
    case action_in_progress::step::draining:
      // Compared on the leaver's own clock: no skew between nodes.
      if (left_and_drained(members, a.node, a.load_ms_at_leave))
        run_provisioner(self, "shrink");
      break;
    case action_in_progress::step::provisioning: {
      auto how = a.command->poll();
      if (!how)
        break;
      if (!a.command->succeeded()) {
        finish(self, "failed: the provisioner (" + a.verb + ") ended with "
                       + *how);
        break;
      }
      if (a.verb == "check-shrink") {
        if (a.already_left) {
          a.load_ms_at_leave = load_ms_of(members, a.node);
          next_step(self, action_in_progress::step::draining);
        } else if (auto why = shrink_obsolete(st, a.node, sample)) {
          finish(self, "cancelled before the leave: " + *why);
        } else {
          ask_to_leave(self);
        }
        break;
      }
      if (a.action == scale_action::shrink) {
        finish(self, "done: " + a.node + " left the ring and was stopped");
        break;
      }
      next_step(self, action_in_progress::step::joining);
      [[fallthrough]];
    }
    case action_in_progress::step::joining:
      if (sample.nodes.size() >= a.target_nodes && !sample.ring_changing)
        finish(self, "done: " + std::to_string(sample.nodes.size())
                       + " nodes on the ring");
      break;
  }
  auto limit = static_cast<uint64_t>(st.settings.action_timeout.count());
  if (!st.action || st.action->at != step_at_start
      || st.action->step_started_ms != started
      || steady_ms() - started <= limit)
    return;
  // A node that left and was not stopped is taken up again later (see
  // resume_leaver): the failure does not strand it.
  if (a.command)
    a.command->kill();
  finish(self, std::string{"failed: not done within "}
                 + std::to_string(limit / 1000) + " s (" + step_name(a.at)
                 + ")");
}

// A member that left the ring but still runs (its shrink failed after the
// leave, or its decider went away) would block every later decision as
// "leaving": the decider sees its shrink through, at most once a cooldown.
// Only with a provisioner; after an operator's own `leave`, cluster.sh
// stops the node itself.
bool resume_leaver(autoscaler_pointer self, const ring_state& ring,
                   const std::vector<member_info>& members) {
  auto& st = self->state;
  auto now = steady_ms();
  auto cooldown = static_cast<uint64_t>(st.policy->targets().cooldown.count());
  if (st.settings.command.empty()
      || (st.last_finish_ms != 0 && now - st.last_finish_ms < cooldown))
    return false;
  auto node = stranded_leaver(st.stranded_since, ring, members,
                              st.settings.node_id, now, cooldown);
  if (!node)
    return false;
  start(self,
        scaling_decision{scale_action::shrink, *node,
                         *node + " left the ring but still runs"},
        true);
  return true;
}

void decide(autoscaler_pointer self, const ring_state& ring,
            const std::vector<member_info>& members) {
  auto& st = self->state;
  st.decider = decider_of(ring, members, st.settings.node_id);
  auto sample = sample_cluster(
    ring, members, steady_ms(), wall_clock_ms(),
    static_cast<uint64_t>(st.settings.stale_after.count()));
  sample.keep = st.settings.node_id;
  st.load = sample.nodes;
  // An action started here is seen through here, even if another node
  // decides meanwhile: only this node runs its command.
  if (st.action) {
    advance(self, ring, members, sample);
    if (st.action)
      st.state_line = std::string{to_string(st.action->action)}
                      + (st.action->node.empty() ? "" : " " + st.action->node)
                      + ": " + step_name(st.action->at);
    return;
  }
  if (st.decider != st.settings.node_id) {
    st.state_line = st.decider.empty() ? "no deciding node is known"
                                       : "decided by " + st.decider;
    return;
  }
  if (st.settings.paused) {
    st.state_line = "paused";
    return;
  }
  if (resume_leaver(self, ring, members))
    return;
  // The ring's own replication: a node's flags describe only rings it
  // would create.
  if (ring.replicas > st.policy->targets().replication) {
    auto t = st.policy->targets();
    t.replication = ring.replicas;
    t.max_nodes = std::max(t.max_nodes, t.replication);
    st.policy->set_targets(t);
  }
  auto decision = st.policy->observe(sample);
  st.state_line = decision.reason;
  if (decision.action != scale_action::none)
    start(self, decision);
}

bool from_own_node(autoscaler_pointer self) {
  auto& sender = self->current_sender();
  return sender && sender->node() == self->node();
}

std::chrono::milliseconds sample_timeout(const autoscaler_settings& s) {
  return std::max(s.interval, std::chrono::milliseconds{5000});
}

void sample_failed(autoscaler_pointer self, const std::string& what,
                   const caf::error& err) {
  self->state.sampling = false;
  self->state.state_line = "cannot read " + what + ": "
                           + self->system().render(err);
}

autoscale_status status_of(const autoscaler_state& st) {
  autoscale_status s;
  s.node_id = st.settings.node_id;
  s.decider = st.decider;
  s.paused = st.settings.paused;
  s.provisioner = st.settings.command;
  s.targets = st.policy->targets();
  s.load = st.load;
  s.state = st.state_line;
  s.decisions.assign(st.decisions.begin(), st.decisions.end());
  return s;
}

// Applies one control here; the reply text, or a one-line problem.
std::optional<std::string> apply_control(autoscaler_state& st,
                                         const std::string& what,
                                         const std::string& value) {
  if (what == "pause" || what == "resume") {
    st.settings.paused = what == "pause";
    return std::nullopt;
  }
  if (what != "set")
    return "unknown autoscale control '" + what
           + "' (pause, resume or set NAME VALUE)";
  auto space = value.find(' ');
  auto name = value.substr(0, space);
  auto number = space == std::string::npos ? std::string{}
                                           : value.substr(space + 1);
  if (number.empty() || number.size() > 12
      || number.find_first_not_of("0123456789") != std::string::npos)
    return "set " + name + ": expected a whole number, got '" + number + "'";
  auto targets = st.policy->targets();
  if (auto problem = set_target(targets, name, std::stoull(number)))
    return problem;
  st.policy->set_targets(targets);
  return std::nullopt;
}

std::string control_done(const std::string& what, const std::string& value) {
  if (what == "set")
    return "autoscale " + value.substr(0, value.find(' ')) + " set to "
           + value.substr(value.find(' ') + 1);
  return std::string{"autoscaler "} + (what == "pause" ? "paused" : "resumed");
}

} // namespace

autoscaler_node_actor spawn_autoscaler(caf::actor_system& sys,
                                       autoscaler_settings settings) {
  auto behavior = [](autoscaler_pointer self, autoscaler_settings settings)
    -> autoscaler_node_actor::behavior_type {
    auto& st = self->state;
    st.settings = std::move(settings);
    st.policy.emplace(st.settings.targets);
    self->send(self, tick_atom::value);
    return {
      // From this node only: the autoscaler's address reaches clients
      // (its replies to delegated requests), and forged cards or ticks
      // from them must change nothing.
      [=](members_atom, std::vector<node_card>& cards) {
        if (from_own_node(self))
          self->state.cards = cards_by_id(std::move(cards));
      },
      [=](ring_atom, ring_snapshot& ring) {
        if (from_own_node(self))
          self->state.ring = std::move(ring);
      },
      [=](gossip_atom, gossiper_actor& gossiper) {
        if (from_own_node(self))
          self->state.gossiper = std::move(gossiper);
      },
      [=](tick_atom) {
        auto& st = self->state;
        // Only its own timer: a stray tick would start a second chain.
        if (self->current_sender() != self->ctrl())
          return;
        self->delayed_send(self, st.settings.interval, tick_atom::value);
        if (st.sampling || !st.ring || !st.gossiper)
          return;
        st.sampling = true;
        // The members as the gossiper has them now (the cards it pushes
        // carry the load of their last membership change), asked of it
        // directly: the coordinator's mailbox is longest exactly when the
        // cluster is overloaded.
        auto ring = st.ring;
        self
          ->request(st.gossiper, sample_timeout(st.settings), get_atom::value,
                    members_atom::value)
          .then(
            [=](const std::vector<member_info>& members) {
              self->state.sampling = false;
              decide(self, ring->state(), members);
            },
            [=](caf::error& err) { sample_failed(self, "the members", err); });
      },
      [=](get_atom, autoscale_atom,
          bool follow) -> caf::result<autoscale_status> {
        auto& st = self->state;
        auto own = status_of(st);
        auto decider = st.cards.find(st.decider);
        if (!follow || st.decider.empty() || st.decider == st.settings.node_id
            || decider == st.cards.end() || !decider->second.coordinator)
          return own;
        auto rp = self->make_response_promise<autoscale_status>();
        self
          ->request(decider->second.coordinator, peer_timeout, get_atom::value,
                    autoscale_atom::value, false)
          .then(
            [=](autoscale_status& theirs) mutable { rp.deliver(theirs); },
            [=](caf::error& err) mutable {
              auto mine = own;
              mine.state = "the deciding node " + mine.decider
                           + " did not answer (" + self->system().render(err)
                           + "); this is " + mine.node_id + "'s view: "
                           + mine.state;
              rp.deliver(mine);
            });
        return rp;
      },
      [=](autoscale_atom, const std::string& what, const std::string& value,
          bool everywhere) -> caf::result<std::string> {
        auto& st = self->state;
        if (auto problem = apply_control(st, what, value))
          return make_kv_error(kv_errc::invalid_argument, *problem);
        log_line(log_level::info, "autoscale: " + control_done(what, value)
                                    + " by an operator");
        auto done = control_done(what, value) + " on " + st.settings.node_id;
        std::vector<coordinator_actor> others;
        std::vector<std::string> other_ids;
        for (auto& [id, card] : st.cards)
          if (everywhere && id != st.settings.node_id
              && card.info.status == member_status::up && card.coordinator) {
            others.push_back(card.coordinator);
            other_ids.push_back(id);
          }
        if (others.empty())
          return done;
        // Every answer (or failure) adds to the reply; the last one sends it.
        auto rp = self->make_response_promise<std::string>();
        auto reply = std::make_shared<std::string>(done);
        auto waiting = std::make_shared<std::size_t>(others.size());
        auto one_done = [=](const std::string& part) mutable {
          *reply += part;
          if (--*waiting == 0)
            rp.deliver(*reply);
        };
        for (std::size_t i = 0; i < others.size(); ++i) {
          auto id = other_ids[i];
          self
            ->request(others[i], peer_timeout, autoscale_atom::value, what,
                      value, false)
            .then([=](const std::string&) mutable { one_done(", " + id); },
                  [=](caf::error& err) mutable {
                    one_done(", not on " + id + " ("
                             + self->system().render(err) + ")");
                  });
        }
        return rp;
      },
    };
  };
  return sys.spawn(behavior, std::move(settings));
}

} // namespace kv
