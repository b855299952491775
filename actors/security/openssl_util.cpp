#include "actors/security/openssl_util.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace kv::openssl_util {

std::string openssl_reason() {
  auto code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  return reason != nullptr ? reason : "unknown error";
}

int no_password(char*, int, int, void*) {
  return -1;
}

std::optional<std::string> read_file(const std::string& path,
                                     const std::string& label,
                                     std::string& text) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return "cannot read " + label + ": " + std::strerror(errno);
  text.clear();
  char buf[8192];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = errno;
      ::close(fd);
      return "cannot read " + label + ": " + std::strerror(err);
    }
    if (n == 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_file_size) {
      ::close(fd);
      return label + " is larger than 1 MiB: not a PEM file";
    }
  }
  ::close(fd);
  return std::nullopt;
}

std::string date_of(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1)
    return "an unreadable date";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string subject_entry(X509* cert, int nid) {
  X509_NAME* name = X509_get_subject_name(cert);
  int at = X509_NAME_get_index_by_NID(name, nid, -1);
  if (at < 0)
    return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0)
    return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

bool keys_equal(const EVP_PKEY* a, const EVP_PKEY* b) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  return EVP_PKEY_eq(a, b) == 1;
#else
  return EVP_PKEY_cmp(a, b) == 1;
#endif
}

} // namespace kv::openssl_util
