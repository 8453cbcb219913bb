// Runs `safelynx serve` as a child process on a free port, for tests that
// talk to a real server: waits for its "listening on" line, and stops it
// with SIGTERM or kills it with SIGKILL.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace safelynx::testing {

class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { kill_hard(); }

  // Starts `program serve --data-dir DIR --port 0 extra...` with `env` added
  // to the environment; throws with the server's output if it does not say
  // where it listens within `timeout`.
  void start(const std::string& program, const std::filesystem::path& data_dir, const std::vector<std::string>& extra,
             const std::map<std::string, std::string>& env, std::chrono::seconds timeout = std::chrono::seconds(120)) {
    int out_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    const std::filesystem::path log = data_dir.parent_path() / (data_dir.filename().string() + ".server.log");
    log_path_ = log;
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(out_pipe[1], STDOUT_FILENO);
      const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) ::dup2(err, STDERR_FILENO);
      for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
      std::vector<std::string> args = {program, "serve", "--data-dir", data_dir.string(), "--port", "0"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out_pipe[1]);
    out_fd_ = out_pipe[0];
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (port_ == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) fail("did not report its port in time");
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(out_fd_, buffer, sizeof buffer);
      if (n <= 0) fail("exited before listening");
      stdout_.append(buffer, static_cast<std::size_t>(n));
      const auto at = stdout_.find("listening on http");
      if (at != std::string::npos) {
        const auto eol = stdout_.find('\n', at);
        if (eol == std::string::npos) continue;
        const auto colon = stdout_.rfind(':', eol);
        port_ = static_cast<unsigned short>(std::stoi(stdout_.substr(colon + 1, eol - colon - 1)));
      }
    }
  }

  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }  // for reading its memory use in /proc
  const std::string& stdout_text() const { return stdout_; }
  std::string log() const {
    std::FILE* f = std::fopen(log_path_.c_str(), "r");
    if (!f) return {};
    std::string text;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, f)) text.append(buffer, n);
    std::fclose(f);
    return text;
  }

  // SIGTERM and wait; returns the exit status (-1 if it had to be killed).
  int stop(std::chrono::seconds grace = std::chrono::seconds(30)) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        close_pipe();
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      ::usleep(20'000);
    }
    kill_hard();
    return -1;
  }

  void kill_hard() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    close_pipe();
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }

 private:
  [[noreturn]] void fail(const std::string& why) {
    kill_hard();
    throw std::runtime_error("safelynx serve " + why + "\nstdout:\n" + stdout_ + "\nstderr:\n" + log());
  }
  void close_pipe() {
    if (out_fd_ >= 0) ::close(out_fd_);
    out_fd_ = -1;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  unsigned short port_ = 0;
  std::string stdout_;
  std::filesystem::path log_path_;
};

}  // namespace safelynx::testing
