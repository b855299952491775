#pragma once

// Runs the operator's provisioner for one decision: a shell command given
// the decision as arguments and in its environment (docs/autoscaling.md).
// Plain POSIX, no CAF: the autoscaler polls it, so a slow command never
// blocks an actor, and a command past its time is killed with everything it
// started in its process group.

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kv {

class provision_command {
public:
  // Starts `/bin/sh -c 'COMMAND "$@"' kv-autoscale ARGS...` in a process
  // group of its own, stdin from /dev/null, stdout and stderr this
  // process's (the node's log), with `env` added to this process's
  // environment and no signal blocked. Throws std::runtime_error with one
  // line when it cannot start.
  provision_command(const std::string& command,
                    const std::vector<std::string>& args,
                    const std::vector<std::pair<std::string, std::string>>& env);

  // Reaps a command that ended; one still running is left to finish (its
  // node is stopping: a shrink half done is worse than a process that
  // outlives its parent).
  ~provision_command();

  provision_command(const provision_command&) = delete;
  provision_command& operator=(const provision_command&) = delete;

  // nullopt while it runs; then how it ended ("exit 0", "exit 3",
  // "killed by signal 9"), the same on every later call.
  std::optional<std::string> poll();

  // Whether it ended with exit status 0 (false while running).
  bool succeeded() const { return ended_ && exit_code_ == 0; }

  // SIGKILLs its process group and reaps it; a no-op once it ended.
  void kill();

  pid_t pid() const { return pid_; }

private:
  void record(int status);

  pid_t pid_ = -1;
  bool ended_ = false;
  int exit_code_ = -1;
  std::string how_;
};

} // namespace kv
