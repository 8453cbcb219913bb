// Writing to a raw socket in the test servers.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <string>

namespace safelynx::testing {

// Sends everything or returns false (the client went away). MSG_NOSIGNAL: a
// closed peer must not raise SIGPIPE in the test process.
inline bool send_all(int fd, const void* data, std::size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t sent = ::send(fd, bytes, size, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    bytes += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

inline bool send_all(int fd, const std::string& text) { return send_all(fd, text.data(), text.size()); }

}  // namespace safelynx::testing
