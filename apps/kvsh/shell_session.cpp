#include "apps/kvsh/shell_session.hpp"

#include <chrono>

#include <caf/all.hpp>

#include "apps/kvsh/shell_format.hpp"
#include "actors/log.hpp"
#include "actors/membership/tcp_probe.hpp"
#include "messages/caf_types.hpp"

namespace kv {

namespace {

constexpr std::chrono::seconds connect_limit{10};

// CAF says only "ip_connect failed" (or nothing useful at all when the peer
// is not a CAF node), so ask the socket layer what went wrong.
std::string connect_failure(const caf::error& err, const std::string& host,
                            uint16_t port) {
  auto reason = tcp_connect_problem(host, port, std::chrono::seconds{3});
  if (!reason.empty())
    return reason;
  return "something listens there but did not answer as a kvactors node ("
         + describe(err) + ")";
}

} // namespace

shell_session::shell_session(caf::actor_system& sys, const shell_args& args,
                             std::ostream& out, std::ostream& err)
  : sys_(sys),
    default_timeout_ms_(args.timeout_ms),
    max_value_bytes_(args.max_value_bytes),
    raw_(args.raw),
    out_(out),
    err_(err) {
  // nop
}

std::optional<std::string> shell_session::connect(const std::string& host,
                                                  uint16_t port) {
  auto node = connect_to_node(sys_, host, port, connect_limit);
  if (!node)
    return "cannot reach node at " + host + ":" + std::to_string(port) + ": "
           + connect_failure(node.error(), host, port);
  // The client connects to this address again after losing the node (it
  // restarted, or hung and recovered).
  client_.emplace(sys_, std::move(*node), endpoint{host, port});
  host_ = host;
  port_ = port;
  // Contexts name versions, not nodes, so they stay valid on the new node.
  return std::nullopt;
}


bool shell_session::execute(std::string_view line) {
  auto parsed = parse_command(line);
  if (parsed.error)
    report(*parsed.error);
  else if (parsed.command.kind == command_kind::quit)
    return false;
  else
    run(parsed.command);
  out_.flush();
  err_.flush();
  return true;
}

void shell_session::run(const shell_command& cmd) {
  if (auto problem = request_problem(cmd, max_value_bytes_)) {
    report(*problem);
    return;
  }
  switch (cmd.kind) {
    case command_kind::help:
      if (cmd.key.empty())
        out_ << shell_help_text();
      else
        out_ << "usage: " << command_usage(cmd.key) << '\n';
      break;
    case command_kind::connect:
      if (auto problem = connect(cmd.host, cmd.port))
        report(*problem);
      else
        out_ << "connected to " << cmd.host << ':' << cmd.port << '\n';
      break;
    case command_kind::get:
      run_get(cmd);
      break;
    case command_kind::nodes:
    case command_kind::ring:
    case command_kind::hints:
    case command_kind::replica:
    case command_kind::stats:
      run_cluster_view(cmd);
      break;
    case command_kind::leave:
    case command_kind::join:
    case command_kind::remove_node:
    case command_kind::replace_node:
      run_ring_change(cmd);
      break;
    case command_kind::aae:
    case command_kind::repair:
      run_anti_entropy(cmd);
      break;
    case command_kind::autoscale:
      run_autoscale(cmd);
      break;
    case command_kind::put:
    case command_kind::remove:
      run_write(cmd);
      break;
    default:
      break;
  }
}

void shell_session::run_autoscale(const shell_command& cmd) {
  if (!cmd.key.empty()) {
    auto reply = client_->autoscale_control(cmd.key, cmd.value);
    if (reply)
      out_ << *reply << '\n';
    else
      report(describe(reply.error()));
    return;
  }
  auto status = client_->autoscale();
  if (status)
    out_ << format_autoscale(*status, wall_clock_ms());
  else
    report(describe(status.error()));
}

void shell_session::run_cluster_view(const shell_command& cmd) {
  if (cmd.kind == command_kind::stats) {
    auto stats = client_->stats();
    if (stats)
      out_ << format_stats(*stats);
    else
      report(describe(stats.error()));
    return;
  }
  if (cmd.kind == command_kind::replica) {
    auto versions = client_->local_versions(cmd.key);
    if (versions)
      out_ << format_replica(*versions);
    else
      report(describe(versions.error()));
    return;
  }
  auto members = client_->members();
  if (!members) {
    report(describe(members.error()));
    return;
  }
  if (cmd.kind == command_kind::nodes) {
    out_ << format_members(*members, wall_clock_ms());
    return;
  }
  if (cmd.kind == command_kind::hints) {
    out_ << format_cluster_hints(cluster_hints(*members));
    return;
  }
  if (cmd.key.empty()) {
    auto ring = client_->ring();
    if (!ring) {
      report(describe(ring.error()));
      return;
    }
    out_ << format_ring(*ring, *members);
    return;
  }
  auto owners = client_->preference_list(cmd.key,
                                         cmd.options.n != 0 ? cmd.options.n : 3);
  if (!owners) {
    report(describe(owners.error()));
    return;
  }
  out_ << format_preference_list(*owners, *members);
}

std::vector<held_hints>
shell_session::cluster_hints(const std::vector<member_info>& members) {
  std::vector<held_hints> holders;
  for (auto& m : members) {
    held_hints h;
    h.holder = m.node_id;
    h.gossiped = m.load.hints;
    caf::expected<std::vector<std::pair<std::string, uint64_t>>> held{
      caf::sec::request_timeout};
    if (m.host == host_ && m.port == port_) {
      held = client_->pending_hints();
    } else if (m.status == member_status::down) {
      h.problem = "down";
      holders.push_back(std::move(h));
      continue;
    } else {
      // Each holder asked directly: hints are per node, not gossiped. A
      // plain probe first: CAF's connect would block on a black hole.
      auto problem = tcp_connect_problem(m.host, m.port, std::chrono::seconds{1});
      if (!problem.empty()) {
        h.problem = "cannot reach " + m.host + ":" + std::to_string(m.port)
                    + ": " + problem;
        holders.push_back(std::move(h));
        continue;
      }
      auto node = connect_to_node(sys_, m.host, m.port, std::chrono::seconds{3});
      if (!node) {
        held = node.error();
      } else {
        // A busy member gets 3 s, not a request's whole limit: the others
        // wait behind it.
        caf::scoped_actor self{sys_};
        self
          ->request(*node, std::chrono::seconds{3}, get_atom::value,
                    hint_atom::value)
          .receive(
            [&](std::vector<std::string>& owners,
                std::vector<uint64_t>& counts) {
              held = hints_by_owner(std::move(owners), counts);
            },
            [&](caf::error& err) { held = std::move(err); });
      }
    }
    if (held)
      h.by_owner = std::move(*held);
    else
      h.problem = describe(held.error());
    holders.push_back(std::move(h));
  }
  return holders;
}

void shell_session::run_ring_change(const shell_command& cmd) {
  auto reply = cmd.kind == command_kind::leave ? client_->leave()
               : cmd.kind == command_kind::join
                 ? client_->join_cluster(endpoint{cmd.host, cmd.port})
               : cmd.kind == command_kind::remove_node
                 ? client_->remove_node(cmd.key)
                 : client_->replace_node(cmd.key, cmd.value);
  if (reply)
    out_ << *reply << '\n';
  else
    report(describe(reply.error()));
}

void shell_session::run_anti_entropy(const shell_command& cmd) {
  if (cmd.kind == command_kind::repair) {
    auto reply = client_->repair(cmd.key);
    if (reply)
      out_ << *reply << '\n';
    else
      report(describe(reply.error()));
    return;
  }
  auto rows = client_->anti_entropy();
  if (!rows) {
    report(describe(rows.error()));
    return;
  }
  out_ << format_anti_entropy(*rows, !cmd.key.empty(), wall_clock_ms());
  auto reaping = client_->reaping();
  if (reaping)
    out_ << format_reaping(*reaping, wall_clock_ms());
  else
    report(describe(reaping.error()));
}

void shell_session::run_get(const shell_command& cmd) {
  auto result = client_->get(cmd.key, with_defaults(cmd.options));
  if (!result) {
    report(describe(result.error()));
    return;
  }
  // Remembered even for a deleted key: writing with the tombstone's context
  // supersedes the tombstone instead of racing it.
  read_contexts_[cmd.key] = result->context;
  if (!raw_) {
    out_ << format_get(*result);
    return;
  }
  for (auto& v : live_values(result->siblings))
    out_ << v.value << '\n';
}

void shell_session::run_write(const shell_command& cmd) {
  vector_clock context;
  if (cmd.context_from == context_source::given) {
    context = cmd.context;
  } else if (cmd.context_from == context_source::latest) {
    auto i = read_contexts_.find(cmd.key);
    if (i == read_contexts_.end()) {
      report("ctx=@: this shell has not read or written the key yet (get it first)");
      return;
    }
    context = i->second;
  }
  auto opts = with_defaults(cmd.options);
  auto result = cmd.kind == command_kind::put
                  ? client_->put(cmd.key, cmd.value, context, opts)
                  : client_->remove(cmd.key, context, opts);
  if (!result) {
    report(describe(result.error()));
    return;
  }
  // Safe to chain: the context covers only what the reply shows.
  read_contexts_[cmd.key] = result->context;
  if (!raw_)
    out_ << format_write(*result);
}

void shell_session::report(const std::string& message) {
  // Results written so far must precede the error when both streams are
  // merged.
  out_.flush();
  ++failures_;
  err_ << "error: " << message << '\n';
}

request_options shell_session::with_defaults(request_options opts) const {
  if (opts.timeout_ms == 0)
    opts.timeout_ms = default_timeout_ms_;
  return opts;
}

} // namespace kv
