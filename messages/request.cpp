#include "messages/request.hpp"

namespace kv {

request_options resolve(request_options opts,
                        const consistency_defaults& defaults) {
  if (opts.n == 0)
    opts.n = defaults.n;
  if (opts.r == 0)
    opts.r = defaults.r;
  if (opts.w == 0)
    opts.w = defaults.w;
  if (opts.timeout_ms == 0)
    opts.timeout_ms = defaults.timeout_ms;
  return opts;
}

} // namespace kv
