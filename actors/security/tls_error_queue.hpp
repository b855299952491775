#pragma once

// CAF 0.17's TLS layer calls SSL_read, SSL_write, SSL_accept and
// SSL_connect without emptying OpenSSL's per-thread error queue first, which
// OpenSSL requires ("or SSL_get_error() will not work reliably"). One failed
// handshake (a plain TCP connect to the port, a peer closing a redundant
// connection) leaves errors there, and the next read on any other TLS
// connection served by the same thread is then taken for a fatal error:
// every connection of the process drops. This program's definitions of those
// four functions empty the queue and call OpenSSL's own (the executable's
// symbols take precedence over the shared library's). apply_tls calls
// require_tls_error_queue_fix, which links them in.

namespace kv {

void require_tls_error_queue_fix();

} // namespace kv
