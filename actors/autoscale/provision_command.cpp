#include "actors/autoscale/provision_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace kv {

namespace {

// posix_spawn's attributes and file actions, released on every path.
struct spawn_setup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t files;

  spawn_setup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&files);
  }
  ~spawn_setup() {
    posix_spawn_file_actions_destroy(&files);
    posix_spawnattr_destroy(&attr);
  }
};

} // namespace

provision_command::provision_command(
  const std::string& command, const std::vector<std::string>& args,
  const std::vector<std::pair<std::string, std::string>>& env) {
  if (command.empty())
    throw std::runtime_error("no provisioner command is set");
  std::vector<std::string> argv_text{"/bin/sh", "-c", command + " \"$@\"",
                                     "kv-autoscale"};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    auto name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (auto& [key, value] : env)
      replaced = replaced || key == name;
    if (!replaced)
      env_text.push_back(std::move(entry));
  }
  for (auto& [key, value] : env)
    env_text.push_back(key + "=" + value);
  auto pointers = [](std::vector<std::string>& texts) {
    std::vector<char*> out;
    for (auto& t : texts)
      out.push_back(t.data());
    out.push_back(nullptr);
    return out;
  };
  auto argv = pointers(argv_text);
  auto envp = pointers(env_text);
  spawn_setup setup;
  // kvnode blocks SIGINT and SIGTERM in every thread (it waits for them on
  // one): the command gets them back, and default handlers.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT})
    sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGMASK
                                          | POSIX_SPAWN_SETSIGDEF
                                          | POSIX_SPAWN_SETPGROUP);
  posix_spawn_file_actions_addopen(&setup.files, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  auto rc = posix_spawn(&pid_, "/bin/sh", &setup.files, &setup.attr,
                        argv.data(), envp.data());
  if (rc != 0)
    throw std::runtime_error("cannot start the provisioner (/bin/sh): "
                             + std::string{std::strerror(rc)});
}

provision_command::~provision_command() {
  poll();
}

void provision_command::record(int status) {
  ended_ = true;
  if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
    how_ = "exit " + std::to_string(exit_code_);
  } else if (WIFSIGNALED(status)) {
    how_ = "killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    how_ = "ended with status " + std::to_string(status);
  }
}

std::optional<std::string> provision_command::poll() {
  if (ended_)
    return how_;
  int status = 0;
  auto rc = waitpid(pid_, &status, WNOHANG);
  if (rc == 0)
    return std::nullopt;
  if (rc == pid_) {
    record(status);
    return how_;
  }
  // Reaped elsewhere (nobody else should), or gone: nothing to wait for.
  ended_ = true;
  how_ = "lost (" + std::string{std::strerror(errno)} + ")";
  return how_;
}

void provision_command::kill() {
  if (ended_ || pid_ <= 0)
    return;
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  record(status);
}

} // namespace kv
