#!/usr/bin/env python3
"""Splits a perf profile of kvbench into the costs that matter for the store.

Record with call graphs (libcaf and libwiredtiger have no frame pointers, so
DWARF unwinding is needed), then feed the samples in:

  perf record -F 199 --call-graph dwarf,16384 -o kv.data -- \
      build/bench/kvbench --mode=embedded --duration=10
  perf script -i kv.data -F comm,tid,ip,sym,dso | bench/perf_breakdown.py

Every sample (on-CPU time, all threads) lands in exactly one category, chosen
by the thread it ran on and the innermost frame that says what it was for.
"""

import re
import sys
from collections import Counter

# Per thread role: (category, pattern over the joined stack), first match wins.
STORE = [
    ("store: WiredTiger write (incl. log commit)", r"kv::wt_table::put"),
    ("store: WiredTiger read", r"kv::wt_table::get"),
    ("store: record codec (Cereal + CRC)",
     r"kv::(decode|encode)_siblings|(decode|encode)_record|kv::crc32"),
    ("store: version logic (make_version, reconcile)",
     r"kv::make_version|kv::reconcile|kv::context_of|kv::live_values"
     r"|kv::vector_clock"),
    ("store: actor runtime (mailbox, messages, wait/wake)", r"."),
]
WORKER = [
    ("coordinator actor", r"kv::\(anonymous namespace\)::(start_write"
                          r"|start_read|coordinator\(|pending_write"
                          r"|pending_read)|kv::quorum_tracker"),
    ("bench client actors",
     r"actor_driver|kv::\(anonymous namespace\)::(issue|completed|record"
     r"|next_op|client|note_error|remember|context_for)|op_stream|key_name"
     r"|latency_histogram"),
    # Not running an actor: looking for work, or sleeping between looks.
    ("CAF workers: idle polling (stealing policy)",
     lambda stack: "scheduled_actor::resume" not in stack),
    ("CAF workers: dispatch, mailbox, promises", r"."),
]
RAW = [
    ("raw: WiredTiger write (incl. log commit)", r"kv::wt_table::put"),
    ("raw: WiredTiger read", r"kv::wt_table::get"),
    ("raw: record codec (Cereal + CRC)",
     r"kv::(decode|encode)_siblings|(decode|encode)_record|kv::crc32"),
    ("raw: client loop", r"."),
]
ROLES = [
    # Eviction writes dirty pages (reconcile + snappy); WiredTiger's own
    # thread does it, and application threads help when the cache is full.
    (r"__wt_evict_thread_run|__evict_|__wt_cache_eviction_worker",
     [("WT eviction (reconcile, snappy)", r".")]),
    (r"thread_safe_actor_clock|simple_actor_clock",
     [("CAF actor clock thread (request timeouts)", r".")]),
    (r"private_thread", STORE),
    (r"scheduler::worker|work_stealing|work_sharing", WORKER),
    (r"client_thread|raw_client", RAW),
    (r"__wt_|__log_|__ckpt_|__sweep_", [("WT background threads (log, "
                                         "checkpoint, sweep)", r".")]),
]
ALLOC = re.compile(r"^(malloc|_int_malloc|_int_free|free|cfree.*|"
                   r"__GI___libc_malloc|__GI___libc_free|__libc_calloc|"
                   r"unlink_chunk.*|malloc_consolidate|operator new.*|"
                   r"operator delete.*|tcache.*|_int_realloc|realloc)$")


def classify(frames):
    stack = "\n".join(frames)
    for role, table in ROLES:
        if re.search(role, stack):
            for name, pattern in table:
                if callable(pattern):
                    if pattern(stack):
                        return name
                elif re.search(pattern, stack):
                    return name
    return "other"


def main():
    total = 0
    cats = Counter()
    alloc = Counter()
    kernel = Counter()
    frames, dsos = [], []

    def flush():
        nonlocal total
        if not frames:
            return
        cat = classify(frames)
        total += 1
        cats[cat] += 1
        # Allocation and kernel time are cross-cutting: counted inside the
        # category too, shown as extra columns.
        user = [f for f, d in zip(frames, dsos) if "kernel" not in d]
        if user and any(ALLOC.match(f) for f in user[:3]):
            alloc[cat] += 1
        if "kernel" in dsos[0]:
            kernel[cat] += 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            frames, dsos = [], []
            continue
        if line[0] not in " \t":
            flush()
            frames, dsos = [], []
            continue
        m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
        if m:
            sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
            frames.append(sym)
            dsos.append(m.group(2))
    flush()
    if total == 0:
        sys.exit("no samples (record with --call-graph dwarf)")
    print(f"{'category':56} {'share':>7} {'malloc':>7} {'kernel':>7}")
    for cat, n in cats.most_common():
        print(f"{cat:56} {100 * n / total:6.1f}%"
              f" {100 * alloc[cat] / total:6.1f}%"
              f" {100 * kernel[cat] / total:6.1f}%")
    print(f"{'total samples':56} {total:7d}")


if __name__ == "__main__":
    main()
