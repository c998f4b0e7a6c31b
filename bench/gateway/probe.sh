#!/usr/bin/env bash
# Back-to-back probe of Airlock binaries on a loaded machine (bench/gateway/run.sh is the reference; this is for
# before/after comparisons while other work shares the cores). Per round and variant: a fresh `airlock serve` (data
# dir outside the working directory, as run.sh), warm-up (8 connections 8 s, 1 connection 5 s), then a 1-connection
# run (p50/p90, CPU per request, voluntary and involuntary context switches per request summed over all threads) and
# an 8-connection run (req/s, CPU per request). Variants alternate within each round so load drifts hit all of them.
#
# usage: bench/gateway/probe.sh ROUNDS SECS messages|bedrock LABEL=BIN[:ENV=V,ENV=V] ...
#   LABEL=nginx       measures nginx directly (the added-latency baseline)
#   LABEL containing "nodur" runs with audit.durable: false
#   LABEL containing "bedrock" posts through the Bedrock door whatever the door argument says (both doors in one run)
# environment: RT=1      the 1-connection run (wrk, nginx, airlock) at SCHED_RR priority 10 (root; the kernel caps RT at
#                        95 % of a period), so other users' builds stop dominating the p50; the 8-connection run is not RT
#              NICE=N    nice value for every process; CWD_DATA=1 data dir inside the working directory
#              PERF=PFX / PERF8=PFX  perf record of the 1- / 8-connection run (set DOTNET_PerfMapEnabled=1 in ENV)
set -euo pipefail
rounds="$1"; secs="$2"; door="$3"; shift 3
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
W="$(mktemp -d /tmp/airlock-probe.XXXXXX)"; if [[ -n "${CWD_DATA:-}" ]]; then cd "$W"; else cd "$REPO"; fi; chmod 755 "$W"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done; sleep 1; for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
freep() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
np="$(freep)"; mkdir -p "$W/nginx"; chmod 755 "$W/nginx"
cp $REPO/bench/gateway/upstream-sse.txt "$W/nginx/"; chmod 644 "$W/nginx/upstream-sse.txt"
sed -e "s#@PREFIX@#$W/nginx#g" -e "s#@PORT@#$np#g" -e "s#@SSE_FILE@#$W/nginx/upstream-sse.txt#g" $REPO/bench/gateway/nginx.conf.template >"$W/nginx/nginx.conf"
setsid nice -n "${NICE:-0}" nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" >/dev/null 2>&1 </dev/null & pids+=($!)
sleep 1
body=$REPO/bench/data/claude-code-request.json
grep -E '^[A-Za-z0-9-]+: ' $REPO/bench/data/claude-code-request.headers.txt | grep -viE '^(host|content-length|connection|transfer-encoding|x-api-key|authorization): ' >"$W/base.txt"
model="$(jq -r '.model // "claude-opus-5-5"' "$body")"
jq -c 'del(.model, .stream) + {anthropic_version: "bedrock-2023-05-31"}' "$body" >"$W/bedrock.json"
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
ctx() { cat /proc/$1/task/*/status 2>/dev/null | awk '$1=="voluntary_ctxt_switches:"{v+=$2} $1=="nonvoluntary_ctxt_switches:"{n+=$2} END{print v+0, n+0}'; }
wrkrun() { # conns secs url hdrs body path
  BENCH_BODY_FILE="$5" BENCH_HEADERS_FILE="$4" BENCH_PATH="$6" nice -n "${NICE:-0}" ${RTW:+chrt -r 10} wrk -t$([[ $1 == 1 ]] && echo 1 || echo 2) -c$1 -d${2}s --timeout 10s -s $REPO/bench/gateway/claude-code-post.lua "$3" 2>&1 | grep '^BENCH ' | tail -1
}
f() { grep -o "$1=[0-9.]*" <<<"$2" | head -1 | cut -d= -f2; }
for r in $(seq 1 "$rounds"); do
for v in "$@"; do
  label="${v%%=*}"; rest="${v#*=}"; bin="${rest%%:*}"; envs=""; [[ "$rest" == *:* ]] && envs="${rest#*:}"
  d="$W/$label.$r"; mkdir -p "$d/data"; port="$(freep)"
  if [[ "$bin" == nginx ]]; then
    { cat "$W/base.txt"; printf 'x-api-key: k\n'; } >"$d/h.txt"
    url="http://127.0.0.1:$np"; wrkrun 1 5 "$url" "$d/h.txt" "$body" "/v1/messages?beta=true" >/dev/null
    if [[ -n "${RT:-}" ]]; then for q in $(pgrep -f "$W/nginx/nginx.conf" | tr '\n' ' '); do chrt -r -a -p 10 $q >/dev/null 2>&1 || true; done; fi
    line="$(RTW=${RT:-} wrkrun 1 "$secs" "$url" "$d/h.txt" "$body" "/v1/messages?beta=true")"
    if [[ -n "${RT:-}" ]]; then for q in $(pgrep -f "$W/nginx/nginx.conf" | tr '\n' ' '); do chrt -o -a -p 0 $q >/dev/null 2>&1 || true; done; fi
    echo "$label r$r load $(cut -d' ' -f1 /proc/loadavg) c1: p50 $(f p50_us "$line") us p90 $(f p90_us "$line") n $(f requests "$line")"
    continue
  fi
  cat >"$d/airlock.yaml" <<Y
level: 1
data_dir: $d/data
upstreams:
  - name: main
    kind: anthropic
    url: http://127.0.0.1:$np
    api_key_env: BENCH_UPSTREAM_KEY
routes:
  - models: ["*"]
    upstream: main
audit:
  durable: $([[ $label == *nodur* ]] && echo false || echo true)
Y
  export BENCH_UPSTREAM_KEY=fake-upstream
  key="$("$bin" keys create --user bench --config "$d/airlock.yaml" --json 2>/dev/null | jq -r .key)"
  setsid nice -n "${NICE:-0}" env ${envs//,/ } "$bin" serve --config "$d/airlock.yaml" --urls "http://127.0.0.1:$port" >"$d/serve.log" 2>&1 </dev/null & spid=$!; pids+=($spid)
  for i in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.2; done
  apid="$(ss -Htlnp "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)"
  if [[ $door == bedrock || $label == *bedrock* ]]; then
    { printf 'Content-Type: application/json\nAccept: application/vnd.amazon.eventstream\nUser-Agent: claude-cli/2.1.330 (external, sdk-cli)\nAuthorization: Bearer %s\n' "$key"; } >"$d/h.txt"
    b="$W/bedrock.json"; path="/bedrock/model/$model/invoke-with-response-stream"
  else
    { cat "$W/base.txt"; printf 'x-api-key: %s\n' "$key"; } >"$d/h.txt"; b="$body"; path="/v1/messages?beta=true"
  fi
  url="http://127.0.0.1:$port"
  wrkrun 8 8 "$url" "$d/h.txt" "$b" "$path" >/dev/null
  wrkrun 1 5 "$url" "$d/h.txt" "$b" "$path" >/dev/null
  t0=$(ticks $apid); read -r v0 n0 < <(ctx $apid)
  if [[ -n "${PERF:-}" ]]; then perf record -F 999 -g -o "$PERF.$label.c1" -p $apid -- sleep "$secs" >/dev/null 2>&1 & perfpid=$!; fi
  if [[ -n "${RT:-}" ]]; then for q in $apid $(pgrep -f "$W/nginx/nginx.conf" | tr '\n' ' '); do chrt -r -a -p 10 $q >/dev/null 2>&1 || true; done; fi
  line="$(RTW=${RT:-} wrkrun 1 "$secs" "$url" "$d/h.txt" "$b" "$path")"
  if [[ -n "${RT:-}" ]]; then for q in $apid $(pgrep -f "$W/nginx/nginx.conf" | tr '\n' ' '); do chrt -o -a -p 0 $q >/dev/null 2>&1 || true; done; fi
  if [[ -n "${PERF:-}" ]]; then wait $perfpid || true; fi
  t1=$(ticks $apid); read -r v1 n1 < <(ctx $apid)
  n=$(f requests "$line"); p50=$(f p50_us "$line")
  t2=$(ticks $apid)
  if [[ -n "${PERF8:-}" ]]; then perf record -F 999 -g -o "$PERF8.$label.c8" -p $apid -- sleep "$secs" >/dev/null 2>&1 & perfpid=$!; fi
  line8="$(wrkrun 8 "$secs" "$url" "$d/h.txt" "$b" "$path")"
  if [[ -n "${PERF8:-}" ]]; then wait $perfpid || true; fi
  t3=$(ticks $apid); n8=$(f requests "$line8")
  hz=$(getconf CLK_TCK)
  awk -v l="$label" -v r=$r -v p=$p50 -v n=$n -v t=$((t1-t0)) -v vc=$((v1-v0)) -v nc=$((n1-n0)) -v t8=$((t3-t2)) -v n8=$n8 -v hz=$hz -v la="$(cut -d' ' -f1 /proc/loadavg)" \
    -v p90=$(f p90_us "$line") 'BEGIN{printf "%-12s r%d load %5s  c1: p50 %6.0f us p90 %6.0f  n %6d  cpu/req %.3f ms  volctx/req %.2f  invctx/req %.2f | c8: %6.0f req/s cpu/req %.3f ms\n", l, r, la, p, p90, n, t*1000/hz/n, vc/n, nc/n, n8/'"$secs"', t8*1000/hz/n8}'
  kill -TERM -- "-$spid" 2>/dev/null || true; sleep 1; kill -KILL -- "-$spid" 2>/dev/null || true
done
done
