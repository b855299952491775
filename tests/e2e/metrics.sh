#!/usr/bin/env bash
# Metrics and status (issue 12): three nodes with --http-port. curl scrapes
# /metrics in the Prometheus text format and finds the requests kvsh made;
# headless Chromium renders the status page with every node up; kvsh
# `nodes` shows each member's gossiped load, `stats` the node's figures and
# `hints` the whole cluster's; hostile HTTP requests get errors and the
# node keeps serving.
#   metrics.sh BIN_DIR   (the directory of kvnode and kvsh)
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
BIN=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$BIN/kvnode" "$BIN/kvsh"
command -v curl >/dev/null || fail "curl is missing (scripts/lib.sh installs it)"
command -v chromium >/dev/null \
  || fail "chromium is missing (scripts/lib.sh installs it)"
cluster_env 3 "--gossip-interval-ms=200"

step "start 3 nodes, each with an HTTP port"
cluster start --nodes=3 --dcs=2 --base-port="$BASE" >/dev/null \
  || fail "cluster.sh start failed"
# http_of NODE: the port the node logged ("status page and metrics on ...").
http_of() {
  sed -nE 's|.*status page and metrics on http://127\.0\.0\.1:([0-9]+)/$|\1|p' \
    "$KV_LOG_DIR/$1.log" | tail -n 1
}
HTTP=$(http_of n1)
[[ -n $HTTP ]] || fail "n1 logged no HTTP port: $(tail -n 5 "$KV_LOG_DIR/n1.log")"
URL=http://127.0.0.1:$HTTP

step "100 puts and 100 gets through n1"
: >"$WORK/load.in"
for i in $(seq 1 100); do
  printf 'put key-%s value-%s\nget key-%s\n' "$i" "$i" "$i" >>"$WORK/load.in"
done
on n1 "$WORK/load.in" "$WORK/load.out"

step "curl scrapes /metrics"
# metric NAME_AND_LABELS: its value in a fresh scrape.
metric() {
  curl -sf --max-time 10 "$URL/metrics" >"$WORK/metrics.txt" || return 1
  awk -v m="$1" '$1 == m { print $2 }' "$WORK/metrics.txt"
}
puts_counted() { [[ $(metric 'kv_requests_total{op="put"}') == 100 ]]; }
wait_for 20 puts_counted \
  || fail "kv_requests_total{op=\"put\"} is $(metric 'kv_requests_total{op="put"}'), expected 100"
[[ $(metric 'kv_requests_total{op="get"}') == 100 ]] || fail "gets not counted"
[[ $(metric 'kv_members{status="up"}') == 3 ]] || fail "members up not 3"
# Every line is a comment or a sample, and every sample's family is typed.
grep -vE '^# (HELP|TYPE) |^[a-z_]+(\{[^}]*\})? [-+0-9.e]+$' "$WORK/metrics.txt" \
  | grep -q . && fail "malformed lines: $(grep -vE '^# |^[a-z_]+' "$WORK/metrics.txt" | head -n 3)"
p99=$(awk '$1 == "kv_request_duration_seconds{op=\"put\",quantile=\"0.99\"}" { print $2 }' \
  "$WORK/metrics.txt")
awk -v x="$p99" 'BEGIN { exit !(x > 0 && x < 5) }' \
  || fail "put p99 of $p99 s is not a latency"
curl -sf --max-time 10 -o /dev/null -w '%{content_type}' "$URL/metrics" \
  | grep -q '^text/plain; version=0.0.4' || fail "not the Prometheus content type"

step "kvsh: nodes (gossiped load), stats and the cluster's hints"
load_gossiped() {
  try_on n2 "$WORK/nodes.out" nodes \
    && awk '$1 == "n1" && $5 > 0 { found = 1 } END { exit !found }' \
      "$WORK/nodes.out" \
    && [[ $(grep -cE '^n[123] +dc[12] +127\.0\.0\.1:[0-9]+ +up +[0-9]+ ' \
      "$WORK/nodes.out") -eq 3 ]]
}
wait_for 20 load_gossiped || fail "n2 does not show n1's load: $(cat "$WORK/nodes.out")"
head -n 1 "$WORK/nodes.out" | grep -qE '^node +dc +address +status +ops/s +p99 +cpu +keys +disk +hints +transfers +ring$' \
  || fail "no nodetool-like header: $(head -n 1 "$WORK/nodes.out")"
try_on n1 "$WORK/stats.out" stats || fail "stats: $(cat "$WORK/stats.out")"
grep -qE '^put +100 +0 ' "$WORK/stats.out" || fail "stats: $(cat "$WORK/stats.out")"
try_on n3 "$WORK/hints.out" hints || fail "hints: $(cat "$WORK/hints.out")"
grep -qx 'no hints pending in the cluster (3 of 3 nodes answered)' \
  "$WORK/hints.out" || fail "hints: $(cat "$WORK/hints.out")"

step "headless Chromium renders the status page"
chrome() {
  timeout 60 chromium --headless --no-sandbox --disable-gpu \
    --user-data-dir="$WORK/chromium" "$@" 2>>"$WORK/chromium.err"
}
chrome --dump-dom "$URL/" >"$WORK/page.html" || fail "chromium failed: $(tail -n 5 "$WORK/chromium.err")"
for node in n1 n2 n3; do
  grep -qE "<tr><td class=\"l\">$node</td>.*<td class=\"l up\">up</td>" \
    "$WORK/page.html" || fail "the page does not show $node up"
done
grep -q '<table id="requests">' "$WORK/page.html" || fail "no requests table"
chrome --hide-scrollbars --window-size=1100,820 \
  --screenshot="$WORK/status.png" "$URL/" >/dev/null \
  || fail "no screenshot: $(tail -n 5 "$WORK/chromium.err")"
[[ $(head -c 8 "$WORK/status.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] \
  || fail "the screenshot is not a PNG"

step "hostile HTTP gets errors and the node keeps serving"
code() { curl -s --max-time 15 -o /dev/null -w '%{http_code}' "$@"; }
[[ $(code "$URL/nope") == 404 ]] || fail "unknown path not 404"
[[ $(code -X POST "$URL/metrics") == 405 ]] || fail "POST not 405"
[[ $(code -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$URL/metrics") == 431 ]] \
  || fail "a 20 KB header was not refused with 431"
# A client that never finishes its request is cut off (408), bounded.
exec 3<>"/dev/tcp/127.0.0.1/$HTTP"
printf 'GET / HTTP/1.1\r\n' >&3
timeout 20 head -n 1 <&3 | grep -q '^HTTP/1.1 408' || fail "no 408 for a stalled request"
exec 3<&-
[[ $(code "$URL/metrics") == 200 ]] || fail "the node stopped serving /metrics"
on n1 "$WORK/load.in" "$WORK/load2.out"
echo "PASS"
