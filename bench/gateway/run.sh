#!/usr/bin/env bash
# Side-by-side gateway benchmark: the same Claude Code turn sent straight to a zero-cost nginx
# upstream ("direct"), through Airlock, and through Portkey, measured in ONE run so the
# added latency and the Airlock/Portkey ratios come from the same machine state.
#
# More legs measure Airlock variants against the same direct leg: airlock-nodurable (audit.durable: false, to show
# what holding each answer's last bytes until its audit record is safe costs), airlock-commit (audit.durable: commit:
# the last bytes wait for the store's commit instead of the default page-cache journal's write) and bedrock (the same
# turn posted to Airlock's Bedrock door, answered in AWS event-stream frames translated from nginx's SSE).
# airlock-noinspect (inspection.enabled: false; only with --only) shows what inspection adds (issue 3: ≤ 0.3 ms p50).
#
# usage: bench/gateway/run.sh [--quick] [--only direct,airlock,airlock-commit,airlock-nodurable,airlock-noinspect,bedrock,portkey] [--body FILE] [--rounds N]
# See bench/gateway/README.md for what is measured and how to read the table.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT
readonly RESULTS_DIR="$REPO_ROOT/bench/results"
readonly REAL_BODY="$REPO_ROOT/bench/data/claude-code-request.json"
readonly TOOLS_DIR="$REPO_ROOT/.tools/bench-node"
readonly PORTKEY_VERSION="1.15.2"
# Portkey 1.15.2 answers every streaming /v1/messages with 500 ("TypeError: immutable" in
# updateHeaders) when npm resolves @hono/node-server >= 1.14 (Portkey-AI/gateway#1389, #1550);
# 1.13.8 works (1.14.2 and 1.19.x were seen to fail), so it is pinned through npm overrides.
readonly HONO_NODE_SERVER_VERSION="1.13.8"
readonly PORTKEY_ENTRY="$TOOLS_DIR/node_modules/@portkey-ai/gateway/build/start-server.js"
readonly AIRLOCK="${AIRLOCK_BIN:-$REPO_ROOT/airlock}"

# Targets Airlock's numbers are shown against.
readonly TARGET_ADDED_P50_MS="0.5"
readonly TARGET_RPS="2000"
readonly TARGET_RSS_MB="150"
readonly TARGET_DURABLE_ADDED_P50_MS="0.2"
readonly TARGET_INSPECTION_ADDED_P50_MS="0.3"
readonly TARGET_BEDROCK_ADDED_P50_MS="0.5"
readonly ALL_LEGS="direct airlock airlock-commit airlock-nodurable airlock-noinspect bedrock portkey"

MAX_SECONDS="${BENCH_MAX_SECONDS:-295}"
AIRLOCK_START_TIMEOUT="${AIRLOCK_START_TIMEOUT:-150}"
AIRLOCK_LEVEL="${AIRLOCK_BENCH_LEVEL:-1}"
AIRLOCK_UPSTREAM_KIND="${AIRLOCK_BENCH_UPSTREAM_KIND:-anthropic}"

quick=0
rounds=1
only="direct,airlock,portkey"
body_arg=""

usage() {
    cat <<'EOF'
usage: bench/gateway/run.sh [--quick] [--only LEGS] [--body FILE] [--rounds N]
  --quick        short warm-up and measurement (smoke test, numbers are indicative only)
  --only LEGS    comma-separated subset of: direct, airlock, airlock-commit, airlock-nodurable, airlock-noinspect, bedrock, portkey
                 (default: direct,airlock,portkey); added latency needs the direct leg in the same run
  --body FILE    request body to replay (default: bench/data/claude-code-request.json,
                 or a generated 49 KiB stand-in while that file does not exist)
  --rounds N     1-connection latency runs per leg (default 1), alternating across the legs (direct, airlock, …,
                 direct, airlock, …) so drift between runs hits every leg alike; reported: medians over rounds, added
                 latency = median over rounds of (leg − that round's direct), and each round's p50
environment: BENCH_MAX_SECONDS (295), AIRLOCK_BIN (./airlock), AIRLOCK_START_TIMEOUT (150), AIRLOCK_BENCH_LEVEL (1),
             AIRLOCK_BENCH_UPSTREAM_KIND (anthropic), BENCH_KEEP_TMP=1 keeps the work dir
EOF
}

while (($# > 0)); do
    case "$1" in
        --quick) quick=1 ;;
        --only) only="${2:?--only needs a value}"; shift ;;
        --only=*) only="${1#--only=}" ;;
        --body) body_arg="${2:?--body needs a file}"; shift ;;
        --body=*) body_arg="${1#--body=}" ;;
        --rounds) rounds="${2:?--rounds needs a value}"; shift ;;
        --rounds=*) rounds="${1#--rounds=}" ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds: expected a positive integer, got '$rounds'" >&2; exit 2; }

legs=()
IFS=',' read -r -a requested <<<"$only"
for leg in $ALL_LEGS; do
    for r in "${requested[@]}"; do
        if [[ "$r" == "$leg" ]]; then
            legs+=("$leg")
        fi
    done
done
for r in "${requested[@]}"; do
    case "$r" in
        direct|airlock|airlock-commit|airlock-nodurable|airlock-noinspect|bedrock|portkey) ;;
        *) echo "--only: unknown leg '$r' (use direct, airlock, airlock-commit, airlock-nodurable, airlock-noinspect, bedrock, portkey)" >&2; exit 2 ;;
    esac
done

if ((quick)); then
    lat_warmup=1; lat_duration=4; tput_warmup=1; tput_duration=4
else
    lat_warmup=5; lat_duration=15; tput_warmup=5; tput_duration=15
fi

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '\n[bench] FAILED: %s\n\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Process bookkeeping: every background process is started with setsid so it leads its own
# process group; cleanup signals exactly those groups (and nothing else) on any exit.
started_groups=()
workdir=""
sampler_pid=""
# shellcheck disable=SC2317 # reached through the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$sampler_pid" ]]; then
        kill "$sampler_pid" 2>/dev/null || true
    fi
    for pgid in "${started_groups[@]}"; do
        kill -TERM -- "-$pgid" 2>/dev/null || true
    done
    # Give each group leader a moment to exit cleanly (a dead leader stays a zombie until
    # reaped, hence the state check), then KILL whatever is left of the group and reap it.
    local deadline=$((SECONDS + 5)) pgid state
    for pgid in "${started_groups[@]}"; do
        while ((SECONDS < deadline)); do
            state="$(sed 's/^.*) //' "/proc/$pgid/stat" 2>/dev/null | cut -d' ' -f1 || true)"
            [[ -z "$state" || "$state" == "Z" ]] && break
            sleep 0.1
        done
        kill -KILL -- "-$pgid" 2>/dev/null || true
        wait "$pgid" 2>/dev/null || true
    done
    if [[ -n "$workdir" && -d "$workdir" ]]; then
        if [[ "${BENCH_KEEP_TMP:-0}" == "1" ]]; then
            log "work dir kept: $workdir"
        else
            rm -rf "$workdir"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "stopped (time limit of ${MAX_SECONDS}s or TERM)"; exit 124' TERM

start_group() { # start_group LOGFILE CMD... ; sets $started_pid
    local logfile="$1"; shift
    setsid "$@" >"$logfile" 2>&1 </dev/null &
    started_pid=$!
    started_groups+=("$started_pid")
}

# Bounded run time: a watchdog TERMs this script when the budget is spent; the EXIT trap then
# stops everything that was started.
setsid bash -c "sleep $MAX_SECONDS; kill -TERM $$ 2>/dev/null" >/dev/null 2>&1 </dev/null &
started_groups+=("$!")

# ---------------------------------------------------------------------------------------------
# Tools.
need_apt=()
command -v nginx >/dev/null || need_apt+=(nginx)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v curl >/dev/null || need_apt+=(curl)
command -v jq >/dev/null || need_apt+=(jq)
command -v ss >/dev/null || need_apt+=(iproute2)
if ((${#need_apt[@]} > 0)); then
    log "installing Debian packages: ${need_apt[*]}"
    sudo_cmd=()
    if ((EUID != 0)); then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

has_leg() { [[ " ${legs[*]} " == *" $1 "* ]]; }

portkey_installed_version() {
    node -e 'try{process.stdout.write(require(process.argv[1]).version)}catch{process.stdout.write("none")}' \
        "$TOOLS_DIR/node_modules/@portkey-ai/gateway/package.json"
}
hono_installed_version() {
    node -e 'try{process.stdout.write(require(process.argv[1]).version)}catch{process.stdout.write("none")}' \
        "$TOOLS_DIR/node_modules/@hono/node-server/package.json"
}
if has_leg portkey || [[ -z "$body_arg" && ! -f "$REAL_BODY" ]]; then
    command -v node >/dev/null || die "node is required (Portkey peer and the stand-in body generator)"
fi
if has_leg portkey; then
    if [[ "$(portkey_installed_version)" != "$PORTKEY_VERSION" || "$(hono_installed_version)" != "$HONO_NODE_SERVER_VERSION" ]]; then
        log "installing @portkey-ai/gateway@$PORTKEY_VERSION into ${TOOLS_DIR#"$REPO_ROOT"/}"
        mkdir -p "$TOOLS_DIR"
        cat >"$TOOLS_DIR/package.json" <<EOF
{
  "name": "airlock-bench-peers",
  "private": true,
  "description": "Peer gateways for bench/gateway/run.sh (not part of Airlock)",
  "dependencies": { "@portkey-ai/gateway": "$PORTKEY_VERSION" },
  "overrides": { "@hono/node-server": "$HONO_NODE_SERVER_VERSION" }
}
EOF
        # --ignore-scripts: the package's only install script is patch-package, and the
        # published tarball ships no patches.
        npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --ignore-scripts --loglevel=error >&2 \
            || die "npm install of @portkey-ai/gateway@$PORTKEY_VERSION failed"
    fi
fi

# ---------------------------------------------------------------------------------------------
# Work dir, body, ports.
workdir="$(mktemp -d /tmp/airlock-gwbench.XXXXXX)"
chmod 755 "$workdir" # nginx workers run as an unprivileged user when started by root

if [[ -n "$body_arg" ]]; then
    [[ -f "$body_arg" ]] || die "--body: no such file: $body_arg"
    body_file="$(cd "$(dirname "$body_arg")" && pwd)/$(basename "$body_arg")"
    body_origin="given with --body (${body_arg})"
elif [[ -f "$REAL_BODY" ]]; then
    body_file="$REAL_BODY"
    body_origin="real Claude Code capture (bench/data/claude-code-request.json)"
else
    body_file="$workdir/standin-body.json"
    node "$SCRIPT_DIR/standin-body.js" 50176 >"$body_file"
    body_origin="GENERATED STAND-IN (bench/data/claude-code-request.json does not exist yet): same size and shape, not a real capture"
    log "NOTE: $body_origin"
fi
body_bytes="$(stat -c %s "$body_file")"

# Headers: the ones captured with the body (<body>.headers.txt, as bench/data keeps them) when
# they exist, so the replay follows whatever the captured Claude Code version sent; otherwise
# the set Claude Code 2.1.330 sends on every turn (shared/reference/claude-code.md §1.2).
captured_headers="${body_file%.json}.headers.txt"
base_headers="$workdir/base-headers.txt"
if [[ "$body_file" == *.json && -f "$captured_headers" ]]; then
    headers_origin="captured with the body (${captured_headers#"$REPO_ROOT"/})"
    # Keep header lines only; the request line, Host, Content-Length and Connection come from
    # the client, credentials from the leg.
    grep -E '^[A-Za-z0-9-]+: ' "$captured_headers" \
        | grep -viE '^(host|content-length|connection|transfer-encoding|x-api-key|authorization): ' >"$base_headers" || true
else
    headers_origin="built-in Claude Code 2.1.330 set"
    cat >"$base_headers" <<'EOF'
Accept: application/json
User-Agent: claude-cli/2.1.330 (external, sdk-cli)
Accept-Encoding: gzip, deflate, br, zstd
Content-Type: application/json
X-Claude-Code-Session-Id: 00000000-0000-4000-8000-000000000001
X-Stainless-Arch: x64
X-Stainless-Lang: js
X-Stainless-OS: Linux
X-Stainless-Package-Version: 0.128.0
X-Stainless-Retry-Count: 0
X-Stainless-Runtime: node
X-Stainless-Timeout: 600
anthropic-beta: claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24
anthropic-dangerous-direct-browser-access: true
anthropic-version: 2023-06-01
x-app: cli
EOF
fi
grep -qi '^anthropic-version: ' "$base_headers" || die "the request headers lack anthropic-version"

write_leg_headers() { # write_leg_headers LEG: base headers + this leg's key and routing headers
    local leg="$1"
    {
        if [[ "$leg" == "bedrock" ]]; then
            cat "$workdir/bedrock-base-headers.txt"
            printf 'Authorization: Bearer %s\n' "${leg_key[$leg]}"
        else
            cat "$base_headers"
            printf 'x-api-key: %s\n' "${leg_key[$leg]}"
        fi
        if [[ -n "${leg_extra[$leg]}" ]]; then
            printf '%s\n' "${leg_extra[$leg]}"
        fi
    } >"$workdir/headers-$leg.txt"
}
body_sha="$(sha256sum "$body_file" | cut -c1-16)"

free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    else
        node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
    fi
}

wait_for_http() { # wait_for_http PORT PID TIMEOUT_S LOGFILE NAME
    local port="$1" pid="$2" timeout="$3" logfile="$4" name="$5"
    local deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$name exited before listening; last lines of its log:"
            tail -n 30 "$logfile" >&2 || true
            return 1
        fi
        sleep 0.2
    done
    log "$name did not answer on 127.0.0.1:$port within ${timeout}s; last lines of its log:"
    tail -n 30 "$logfile" >&2 || true
    return 1
}

listener_pids() { # listener_pids PORT -> pids holding the listening socket
    ss -Htlnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | tr '\n' ' '
}

# ---------------------------------------------------------------------------------------------
# Upstream: nginx answering POST /v1/messages with the canned SSE stream.
nginx_port="$(free_port)"
nginx_prefix="$workdir/nginx"
mkdir -p "$nginx_prefix"
chmod 755 "$nginx_prefix"
cp "$SCRIPT_DIR/upstream-sse.txt" "$nginx_prefix/upstream-sse.txt"
chmod 644 "$nginx_prefix/upstream-sse.txt"
sed -e "s#@PREFIX@#$nginx_prefix#g" -e "s#@PORT@#$nginx_port#g" -e "s#@SSE_FILE@#$nginx_prefix/upstream-sse.txt#g" \
    "$SCRIPT_DIR/nginx.conf.template" >"$nginx_prefix/nginx.conf"
nginx -t -q -p "$nginx_prefix" -c "$nginx_prefix/nginx.conf" 2>"$nginx_prefix/configtest.log" \
    || { cat "$nginx_prefix/configtest.log" >&2; die "nginx config test failed"; }
start_group "$workdir/nginx.out" nginx -p "$nginx_prefix" -c "$nginx_prefix/nginx.conf"
nginx_pid="$started_pid"
wait_for_http "$nginx_port" "$nginx_pid" 10 "$nginx_prefix/error.log" nginx || die "nginx did not start"
log "nginx upstream on 127.0.0.1:$nginx_port"

# ---------------------------------------------------------------------------------------------
# Per-leg state (associative arrays keyed by leg).
declare -A leg_url leg_key leg_extra leg_status leg_note leg_pidport leg_path leg_body
declare -A r_p50 r_p90 r_p99 r_lat_err r_rps r_tput_err r_rss r_hwm r_cpu r_fwd r_sse
# Latency per round, keyed "LEG:ROUND" (microseconds), and how many rounds each leg completed.
declare -A rr_p50 rr_p90 rr_p99 r_rounds

readonly FAKE_DEVELOPER_KEY="bench-fake-developer-key-not-a-secret"
readonly FAKE_UPSTREAM_KEY="bench-fake-upstream-key-not-a-secret"

setup_direct() {
    leg_url[direct]="http://127.0.0.1:$nginx_port"
    leg_key[direct]="$FAKE_DEVELOPER_KEY"
    leg_extra[direct]=""
    leg_pidport[direct]="$nginx_port"
}

setup_portkey() {
    local port; port="$(free_port)"
    start_group "$workdir/portkey.log" node "$PORTKEY_ENTRY" "--port=$port" --headless
    wait_for_http "$port" "$started_pid" 30 "$workdir/portkey.log" Portkey || return 1
    leg_url[portkey]="http://127.0.0.1:$port"
    leg_key[portkey]="$FAKE_DEVELOPER_KEY"
    leg_extra[portkey]=$'x-portkey-provider: anthropic\nx-portkey-custom-host: http://127.0.0.1:'"$nginx_port"'/v1'
    leg_pidport[portkey]="$port"
    log "Portkey $PORTKEY_VERSION on 127.0.0.1:$port"
}

setup_airlock() { # setup_airlock [LEG [DURABLE [INSPECT]]]: an Airlock instance of its own for LEG
    local leg="${1:-airlock}" durable="${2:-true}" inspect="${3:-true}"
    if [[ ! -x "$AIRLOCK" ]]; then
        leg_status[$leg]="skipped"
        leg_note[$leg]="./airlock not found at the repo root yet"
        log "SKIP $leg: ${leg_note[$leg]}"
        return 0
    fi
    local dir="$workdir/$leg" port key_json key start_timeout
    start_timeout="$(startup_seconds_left)"
    ((start_timeout < AIRLOCK_START_TIMEOUT)) || start_timeout="$AIRLOCK_START_TIMEOUT"
    ((start_timeout > 0)) || { leg_note[$leg]="no time left in the ${MAX_SECONDS}s budget to start Airlock"; return 1; }
    mkdir -p "$dir/data"
    port="$(free_port)"
    cat >"$dir/airlock.yaml" <<EOF
level: $AIRLOCK_LEVEL
data_dir: $dir/data
upstreams:
  - name: main
    kind: $AIRLOCK_UPSTREAM_KIND
    url: http://127.0.0.1:$nginx_port
    api_key_env: BENCH_UPSTREAM_KEY
routes:
  - models: ["*"]
    upstream: main
audit:
  durable: $durable
inspection:
  enabled: $inspect
EOF
    export BENCH_UPSTREAM_KEY="$FAKE_UPSTREAM_KEY"
    log "airlock keys create (builds Airlock on first use)"
    pushd "$REPO_ROOT" >/dev/null
    # MSBUILDDISABLENODEREUSE: a first-use build must not leave MSBuild worker nodes running.
    local rc=0
    key_json="$(MSBUILDDISABLENODEREUSE=1 timeout "$start_timeout" "$AIRLOCK" keys create --user bench \
        --config "$dir/airlock.yaml" --json 2>"$dir/keys.err")" || rc=$?
    if ((rc != 0)); then
        popd >/dev/null
        tail -n 30 "$dir/keys.err" >&2 || true
        if ((rc == 124)); then
            leg_note[$leg]="'airlock keys create' (including any build) did not finish within ${start_timeout}s"
        else
            leg_note[$leg]="'airlock keys create' failed with exit code $rc (its output is above)"
        fi
        return 1
    fi
    key="$(jq -r '.key // empty' <<<"$key_json" 2>/dev/null || true)"
    if [[ -z "$key" ]]; then
        popd >/dev/null
        leg_note[$leg]="'airlock keys create --json' printed no .key field"
        return 1
    fi
    start_group "$dir/serve.log" "$AIRLOCK" serve --config "$dir/airlock.yaml" --urls "http://127.0.0.1:$port"
    popd >/dev/null
    start_timeout="$(startup_seconds_left)"
    ((start_timeout < AIRLOCK_START_TIMEOUT)) || start_timeout="$AIRLOCK_START_TIMEOUT"
    ((start_timeout > 0)) || start_timeout=1
    if ! wait_for_http "$port" "$started_pid" "$start_timeout" "$dir/serve.log" Airlock; then
        leg_note[$leg]="'airlock serve' did not come up (its log is above)"
        return 1
    fi
    leg_url[$leg]="http://127.0.0.1:$port"
    leg_key[$leg]="$key"
    leg_extra[$leg]=""
    leg_pidport[$leg]="$port"
    log "Airlock for leg $leg on 127.0.0.1:$port (level $AIRLOCK_LEVEL, upstream kind $AIRLOCK_UPSTREAM_KIND, audit.durable $durable)"
}

# The Bedrock door of the airlock leg's instance (or of an instance of its own when that leg is not run): the same
# turn in Bedrock form (no model/stream members, anthropic_version bedrock-2023-05-31), posted to
# /bedrock/model/<id>/invoke-with-response-stream; Airlock forwards it to nginx as a Messages call and answers in
# event-stream frames.
setup_bedrock() {
    if [[ -n "${leg_url[airlock]:-}" && "${leg_status[airlock]:-}" == "pending" ]]; then
        leg_url[bedrock]="${leg_url[airlock]}"
        leg_key[bedrock]="${leg_key[airlock]}"
        leg_pidport[bedrock]="${leg_pidport[airlock]}"
    else
        setup_airlock bedrock true || return 1
        [[ "${leg_status[bedrock]}" == "skipped" ]] && return 0
    fi
    leg_extra[bedrock]=""
    local model; model="$(jq -r '.model // "claude-opus-5-5"' "$body_file")"
    leg_path[bedrock]="/bedrock/model/$model/invoke-with-response-stream"
    leg_body[bedrock]="$workdir/bedrock-body.json"
    jq -c 'del(.model, .stream) + {anthropic_version: "bedrock-2023-05-31"}' "$body_file" >"${leg_body[bedrock]}"
    # What Claude Code's Bedrock client sends, with the gateway key as a bearer token (CLAUDE_CODE_SKIP_BEDROCK_AUTH).
    cat >"$workdir/bedrock-base-headers.txt" <<'EOF'
Content-Type: application/json
Accept: application/vnd.amazon.eventstream
User-Agent: claude-cli/2.1.330 (external, sdk-cli)
X-Amzn-Bedrock-Accept: application/json
EOF
}

# ---------------------------------------------------------------------------------------------
# Verification: one real request per leg before measuring. Fails the leg loudly unless it
# answers 200 with the whole canned SSE stream, and checks in nginx's access log that the
# upstream received (read) the whole request body.
access_log_lines() { wc -l <"$nginx_prefix/access.log" 2>/dev/null || echo 0; }

# request_length of the first request nginx logged after line $1 (nginx writes the line just
# after sending the answer, so it may trail the client by a moment).
nginx_request_length_after() {
    local before="$1" tries=0
    while (($(access_log_lines) <= before && tries < 20)); do
        sleep 0.1
        tries=$((tries + 1))
    done
    sed -n "$((before + 1))p" "$nginx_prefix/access.log" 2>/dev/null | grep -o 'request_length=[0-9]*' | cut -d= -f2
}

verify_leg() {
    local leg="$1" out="$workdir/verify-$1"
    write_leg_headers "$leg"
    : >"$out.body"
    local code log_before
    log_before="$(access_log_lines)"
    # --compressed: Claude Code accepts gzip/br/zstd, so a gateway may legitimately compress.
    code="$(curl -sS --compressed --max-time 20 -o "$out.body" -D "$out.headers" -w '%{http_code}' -X POST \
        -H "@$workdir/headers-$leg.txt" --data-binary "@${leg_body[$leg]:-$body_file}" "${leg_url[$leg]}${leg_path[$leg]:-/v1/messages?beta=true}" \
        2>"$out.err" || true)"
    if [[ "$code" != "200" ]]; then
        log "$leg answered HTTP ${code:-none}; first bytes of the answer:"
        head -c 600 "$out.body" >&2 || true
        cat "$out.err" >&2 || true
        echo >&2
        leg_note[$leg]="verification request got HTTP ${code:-no answer}, expected 200"
        return 1
    fi
    local frames=""
    if [[ "$leg" == "bedrock" ]]; then
        if ! grep -qi '^content-type: *application/vnd.amazon.eventstream' "$out.headers"; then
            leg_note[$leg]="verification answer is not application/vnd.amazon.eventstream"
            return 1
        fi
        # Well-formed frames with valid CRCs, message_start first and message_stop last: the stream is complete.
        if ! frames="$(node "$SCRIPT_DIR/eventstream-check.js" "$out.body")"; then
            leg_note[$leg]="verification answer is not a complete event stream ($frames)"
            return 1
        fi
    else
        if ! grep -qi '^content-type: *text/event-stream' "$out.headers"; then
            leg_note[$leg]="verification answer is not text/event-stream"
            return 1
        fi
        if ! grep -q '^event: message_start' "$out.body" || ! grep -q '^event: message_stop' "$out.body"; then
            leg_note[$leg]="verification answer lacks message_start/message_stop"
            return 1
        fi
    fi
    local fwd; fwd="$(nginx_request_length_after "$log_before")"
    r_fwd[$leg]="${fwd:-?}"
    # The upstream must have read a request at least as large as 90% of the body (a gateway
    # may legitimately compact whitespace; the direct leg must show the whole body).
    if [[ -z "$fwd" ]] || ((fwd * 10 < body_bytes * 9)); then
        leg_note[$leg]="upstream saw a request of ${fwd:-?} bytes for a ${body_bytes}-byte body"
        return 1
    fi
    if [[ -n "$frames" ]]; then
        r_sse[$leg]="event-stream, $(cut -d' ' -f2 <<<"$frames") frames"
    elif cmp -s "$out.body" "$SCRIPT_DIR/upstream-sse.txt"; then r_sse[$leg]="identical"; else r_sse[$leg]="changed"; fi
    log "$leg verified: 200, upstream read ${fwd} bytes, answer ${r_sse[$leg]}"
}

# ---------------------------------------------------------------------------------------------
# Measurement.
raw_log="$workdir/raw.txt"
: >"$raw_log"

run_wrk() { # run_wrk LEG THREADS CONNS SECONDS LABEL -> prints the BENCH line
    local leg="$1" threads="$2" conns="$3" secs="$4" label="$5" out
    out="$(BENCH_BODY_FILE="${leg_body[$leg]:-$body_file}" BENCH_HEADERS_FILE="$workdir/headers-$leg.txt" \
        BENCH_PATH="${leg_path[$leg]:-/v1/messages?beta=true}" \
        timeout $((secs + 15)) wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s \
        -s "$SCRIPT_DIR/claude-code-post.lua" "${leg_url[$leg]}" 2>&1)" || true
    printf '### %s %s (-t%s -c%s -d%ss)\n%s\n\n' "$leg" "$label" "$threads" "$conns" "$secs" "$out" >>"$raw_log"
    grep '^BENCH ' <<<"$out" | tail -n 1 || true
}

field() { # field NAME "BENCH a=1 b=2" -> value
    grep -o "$1=[0-9.]*" <<<"$2" | head -n 1 | cut -d= -f2
}

errors_of() {
    local line="$1"
    echo $(($(field errors_status "$line") + $(field errors_connect "$line") + $(field errors_read "$line") \
        + $(field errors_write "$line") + $(field errors_timeout "$line")))
}

proc_kb() { # proc_kb FIELD PIDS... -> sum of that /proc/PID/status field in kB
    local name="$1"; shift
    local total=0 v pid
    for pid in "$@"; do
        v="$(awk -v n="$name:" '$1 == n { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

proc_cpu_ticks() { # utime + stime of the given pids
    local total=0 pid v
    for pid in "$@"; do
        # Fields after the ")" of the comm: state is 1, utime is 12, stime is 13.
        v="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }' || true)"
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# shellcheck disable=SC2034 # rr_p90 and rr_p99 are read through the namerefs of round_values and round_diffs
measure_latency_round() { # measure_latency_round LEG ROUND: warm-up and measured run at 1 connection
    local leg="$1" round="$2" line label="latency"
    ((rounds == 1)) || label="latency, round $round"
    run_wrk "$leg" 1 1 "$lat_warmup" "$label warm-up" >/dev/null
    line="$(run_wrk "$leg" 1 1 "$lat_duration" "$label")"
    [[ -n "$line" ]] || { leg_note[$leg]="wrk produced no result ($label run)"; return 1; }
    rr_p50[$leg:$round]="$(field p50_us "$line")"; rr_p90[$leg:$round]="$(field p90_us "$line")"; rr_p99[$leg:$round]="$(field p99_us "$line")"
    r_lat_err[$leg]=$((r_lat_err[$leg] + $(errors_of "$line")))
    r_rounds[$leg]="$round"
}

measure_leg() {
    local leg="$1" line pids
    read -r -a pids <<<"$(listener_pids "${leg_pidport[$leg]}")"
    ((${#pids[@]} > 0)) || { leg_note[$leg]="no process found listening on port ${leg_pidport[$leg]}"; return 1; }

    log "$leg: latency at 1 connection (${tput_warmup}s warm-up at 8 connections, ${lat_warmup}s at 1, then ${lat_duration}s)"
    # Warm up at 8 connections first: a gateway that has served a few thousand requests has its hot paths at tier 1.
    # A 1-connection warm-up alone left the JIT compiling through the latency run (16 % of samples in session 4).
    run_wrk "$leg" 2 8 "$tput_warmup" "JIT warm-up" >/dev/null
    r_lat_err[$leg]=0
    measure_latency_round "$leg" 1 || return 1

    log "$leg: throughput at 8 connections, 2 threads (${tput_warmup}s warm-up + ${tput_duration}s)"
    run_wrk "$leg" 2 8 "$tput_warmup" "throughput warm-up" >/dev/null
    local cpu_before; cpu_before="$(proc_cpu_ticks "${pids[@]}")"
    # Sample RSS every 0.5 s while the 8-connection load runs.
    local sample_file="$workdir/rss-$leg.txt"
    (
        while :; do
            proc_kb VmRSS "${pids[@]}" >>"$sample_file"
            sleep 0.5
        done
    ) &
    sampler_pid=$!
    line="$(run_wrk "$leg" 2 8 "$tput_duration" "throughput")"
    kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=""
    local cpu_after; cpu_after="$(proc_cpu_ticks "${pids[@]}")"
    [[ -n "$line" ]] || { leg_note[$leg]="wrk produced no result (throughput run)"; return 1; }
    r_rps[$leg]="$(field rps "$line")"
    r_tput_err[$leg]="$(errors_of "$line")"
    r_rss[$leg]="$(sort -n "$sample_file" | tail -n 1)"
    r_hwm[$leg]="$(proc_kb VmHWM "${pids[@]}")"
    local requests; requests="$(field requests "$line")"
    r_cpu[$leg]="$(awk -v t=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
        'BEGIN { if (n > 0) printf "%.3f", t * 1000 / hz / n; else print "?" }')"
    log "$leg: p50 ${rr_p50[$leg:1]} us, p99 ${rr_p99[$leg:1]} us, ${r_rps[$leg]} req/s, RSS $((r_rss[$leg] / 1024)) MB"
}

# ---------------------------------------------------------------------------------------------
# Run the legs. Everything is started first (Airlock builds on first use, which is heavy on a
# 2-core machine), then the legs are verified and measured back to back on a quiet machine.
# Seconds one leg needs for its wrk runs (plus slack), and what the watchdog leaves: start-up
# may only use the time the measurements do not need, and a leg that cannot finish in time is
# skipped so the legs already measured still get reported.
readonly LEG_SECONDS=$((lat_warmup + lat_duration + 2 * tput_warmup + tput_duration + 8))
# Each further latency round of one leg (--rounds): warm-up, run, slack.
readonly ROUND_SECONDS=$((lat_warmup + lat_duration + 3))
readonly REPORT_RESERVE_SECONDS=15
seconds_left() { echo $((MAX_SECONDS - SECONDS - REPORT_RESERVE_SECONDS)); }
startup_seconds_left() { echo $(($(seconds_left) - (LEG_SECONDS + (rounds - 1) * ROUND_SECONDS) * ${#legs[@]})); }

overall_rc=0
for leg in "${legs[@]}"; do
    leg_status[$leg]="pending"
    leg_note[$leg]=""
    case "$leg" in
        direct) setup_direct ;;
        portkey) setup_portkey || leg_status[$leg]="failed" ;;
        airlock) setup_airlock airlock true || leg_status[$leg]="failed" ;;
        airlock-commit) setup_airlock airlock-commit commit || leg_status[$leg]="failed" ;;
        airlock-nodurable) setup_airlock airlock-nodurable false || leg_status[$leg]="failed" ;;
        airlock-noinspect) setup_airlock airlock-noinspect true false || leg_status[$leg]="failed" ;;
        bedrock) setup_bedrock || leg_status[$leg]="failed" ;;
    esac
    if [[ "${leg_status[$leg]}" == "failed" ]]; then
        leg_note[$leg]="${leg_note[$leg]:-$leg did not start}"
        log "FAILED $leg: ${leg_note[$leg]}"
        overall_rc=1
    fi
done

for leg in "${legs[@]}"; do
    [[ "${leg_status[$leg]}" == "pending" ]] || continue
    leg_status[$leg]="failed"
    if (($(seconds_left) < LEG_SECONDS)); then
        leg_status[$leg]="skipped"
        leg_note[$leg]="time budget of ${MAX_SECONDS}s (BENCH_MAX_SECONDS) spent"
        log "SKIP $leg: ${leg_note[$leg]}"
        overall_rc=1
        continue
    fi
    if ! verify_leg "$leg"; then
        log "FAILED $leg: ${leg_note[$leg]}"
        overall_rc=1
        continue
    fi
    if measure_leg "$leg"; then
        leg_status[$leg]="ok"
        if ((r_lat_err[$leg] + r_tput_err[$leg] > 0)); then
            # Error answers (a 429, a 5xx) are fast and would flatter the percentiles.
            log "FAILED $leg: $((r_lat_err[$leg] + r_tput_err[$leg])) requests failed during measurement (see the raw wrk output)"
            leg_note[$leg]="numbers include failed requests"
            overall_rc=1
        fi
    else
        log "FAILED $leg: ${leg_note[$leg]}"
        overall_rc=1
    fi
done

# Rounds 2..N of the latency runs, alternating across the legs measured so far: a leg's rounds all see the machine
# states the other legs' rounds see. Rounds that no longer fit in the budget are left out (and said so).
rounds_note=""
for ((round = 2; round <= rounds; round++)); do
    for leg in "${legs[@]}"; do
        [[ "${leg_status[$leg]}" == "ok" && "${r_rounds[$leg]:-0}" == $((round - 1)) ]] || continue
        if (($(seconds_left) < ROUND_SECONDS)); then
            rounds_note="time budget of ${MAX_SECONDS}s (BENCH_MAX_SECONDS) spent during round $round"
            log "SKIP the remaining rounds: $rounds_note"
            break 2
        fi
        log "$leg: latency at 1 connection, round $round of $rounds"
        if ! measure_latency_round "$leg" "$round"; then
            # The rounds it completed still count; it takes part in no further round.
            log "FAILED $leg round $round: ${leg_note[$leg]}"
            overall_rc=1
        elif ((r_lat_err[$leg] > 0)); then
            leg_note[$leg]="numbers include failed requests"
            overall_rc=1
        fi
    done
done

median() { # median V... -> the middle value (mean of the two middle ones for an even count); empty for none
    printf '%s\n' "$@" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
round_values() { # round_values ARRAY LEG -> that leg's value in each round it completed
    local -n values="$1"
    local r
    for ((r = 1; r <= ${r_rounds[$2]:-0}; r++)); do
        echo "${values[$2:$r]:-}"
    done
}
round_diffs() { # round_diffs ARRAY LEG BASE -> LEG − BASE in every round both completed (µs)
    local -n values="$1"
    local r
    for ((r = 1; r <= ${r_rounds[$2]:-0} && r <= ${r_rounds[$3]:-0}; r++)); do
        awk -v a="${values[$2:$r]}" -v b="${values[$3:$r]}" 'BEGIN { print a - b }'
    done
}
for leg in "${legs[@]}"; do
    [[ -n "${r_rounds[$leg]:-}" ]] || continue
    # shellcheck disable=SC2046 # one value per line, no spaces
    r_p50[$leg]="$(median $(round_values rr_p50 "$leg"))"
    # shellcheck disable=SC2046
    r_p90[$leg]="$(median $(round_values rr_p90 "$leg"))"
    # shellcheck disable=SC2046
    r_p99[$leg]="$(median $(round_values rr_p99 "$leg"))"
done

# ---------------------------------------------------------------------------------------------
# Report.
ms() { awk -v us="$1" 'BEGIN { if (us == "") print "–"; else printf "%.3f", us / 1000 }'; }
mb() { awk -v kb="$1" 'BEGIN { if (kb == "") print "–"; else printf "%.1f", kb / 1024 }'; }
added_ms() { # added_ms LEG rr_pXX [BASE]: median over rounds of (LEG − BASE, default direct) in that round, in ms
    local leg="$1" arr="$2" base="${3:-direct}"
    if [[ "${leg_status[$base]:-}" != "ok" || "${leg_status[$leg]:-}" != "ok" ]]; then echo "–"; return; fi
    # shellcheck disable=SC2046
    awk -v d="$(median $(round_diffs "$arr" "$leg" "$base"))" 'BEGIN { if (d == "") print "–"; else printf "%+.3f", d / 1000 }'
}
ratio() { # ratio A B -> A/B
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "–" || b == "–" || b + 0 == 0) print "–"; else printf "%.2f×", a / b }'
}
check() { # check VALUE OP LIMIT -> ✔ / ✘ / –
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (v == "" || v == "–") { print "–"; exit }
        ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "✔" : "✘" }'
}

now_utc="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
mem_total="$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
load_now="$(cut -d' ' -f1-3 /proc/loadavg)"
git_commit="$(git -C "$REPO_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$REPO_ROOT" status --porcelain -- src 2>/dev/null)" ]]; then git_commit+=" (src/ has uncommitted changes)"; fi
v_nginx="$(nginx -v 2>&1 | sed 's/^nginx version: //')"
v_wrk="$( (wrk -v 2>&1 || true) | head -n 1 | awk '{ print $2 }')"
v_node="$(node --version 2>/dev/null || echo none)"
if command -v node >/dev/null; then
    v_portkey="$(portkey_installed_version) (@hono/node-server $(hono_installed_version))"
else
    v_portkey="none"
fi
v_dotnet="$(cd "$REPO_ROOT" && dotnet --version 2>/dev/null || echo none)"

leg_title() {
    case "$1" in
        direct) echo "direct nginx" ;;
        airlock) echo "Airlock" ;;
        airlock-commit) echo "Airlock, audit.durable: commit" ;;
        airlock-nodurable) echo "Airlock, audit.durable: false" ;;
        airlock-noinspect) echo "Airlock, inspection.enabled: false" ;;
        bedrock) echo "Airlock Bedrock door" ;;
        portkey) echo "Portkey $PORTKEY_VERSION" ;;
    esac
}

report="$workdir/report.md"
{
    echo "## Gateway benchmark, $now_utc"
    echo
    echo "- mode: $( ((quick)) && echo "quick (${lat_duration}s latency, ${tput_duration}s throughput, ${lat_warmup}s warm-ups)" \
        || echo "full (${lat_duration}s latency, ${tput_duration}s throughput, ${lat_warmup}s warm-ups)" ); legs: ${legs[*]}"
    if ((rounds > 1)); then
        echo "- latency rounds: $rounds, alternating across the legs; p50/p90/p99 are medians over a leg's rounds, added = median over rounds of (leg − that round's direct)${rounds_note:+; $rounds_note}"
    fi
    echo "- machine: $(nproc) cores, $cpu_model, $mem_total, kernel $(uname -r), load average at report time $load_now"
    echo "- commit: $git_commit"
    if has_leg airlock || has_leg airlock-commit || has_leg airlock-nodurable || has_leg airlock-noinspect || has_leg bedrock; then
        echo "- airlock: ${AIRLOCK#"$REPO_ROOT"/} (level $AIRLOCK_LEVEL, upstream kind $AIRLOCK_UPSTREAM_KIND; audit.durable true, i.e. the page-cache journal with SQLite, except the airlock-commit and airlock-nodurable legs)"
    fi
    if has_leg bedrock; then
        echo "- bedrock leg: POST ${leg_path[bedrock]:-/bedrock/model/<id>/invoke-with-response-stream} with the body in Bedrock form ($(stat -c %s "${leg_body[bedrock]:-$body_file}" 2>/dev/null || echo ?) bytes), bearer key; Airlock relays to nginx as Messages and answers in event-stream frames (checked: CRCs, message_start … message_stop)"
    fi
    echo "- versions: nginx $v_nginx, wrk $v_wrk, node $v_node, portkey $v_portkey, dotnet $v_dotnet"
    echo "- body: $body_origin; $body_bytes bytes, sha256 $body_sha…; headers: $headers_origin"
    echo "- request: POST /v1/messages?beta=true with Claude Code's headers; upstream: nginx (1 worker) answering a canned $(stat -c %s "$SCRIPT_DIR/upstream-sse.txt")-byte SSE stream after reading the whole body"
    echo "- load generator, gateways and nginx share the same cores: numbers are comparable within this run, not absolute"
    echo
    echo "| leg | p50 ms | p90 ms | p99 ms | added p50 ms | added p99 ms | req/s @8 conn | errors | RSS under load MB | peak RSS (VmHWM) MB | CPU ms/req | upstream saw bytes | SSE bytes | status |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    for leg in "${legs[@]}"; do
        if [[ "${leg_status[$leg]}" == "ok" ]]; then
            printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(leg_title "$leg")" \
                "$(ms "${r_p50[$leg]}")" "$(ms "${r_p90[$leg]}")" "$(ms "${r_p99[$leg]}")" \
                "$(added_ms "$leg" rr_p50)" "$(added_ms "$leg" rr_p99)" "${r_rps[$leg]}" \
                "$((r_lat_err[$leg] + r_tput_err[$leg]))" "$(mb "${r_rss[$leg]}")" "$(mb "${r_hwm[$leg]}")" \
                "${r_cpu[$leg]}" "${r_fwd[$leg]}" "${r_sse[$leg]}" "ok${leg_note[$leg]:+ (${leg_note[$leg]})}"
        else
            printf '| %s | – | – | – | – | – | – | – | – | – | – | – | – | %s: %s |\n' "$(leg_title "$leg")" \
                "${leg_status[$leg]}" "${leg_note[$leg]}"
        fi
    done
    echo
    if ((rounds > 1)); then
        echo "| leg | rounds | p50 per round ms | p50 spread ms | added p50 per round ms |"
        echo "|---|---:|---|---:|---|"
        for leg in "${legs[@]}"; do
            [[ "${leg_status[$leg]}" == "ok" ]] || continue
            per_round="$(round_values rr_p50 "$leg" | awk '{ printf "%s%.3f", (NR > 1 ? " " : ""), $1 / 1000 }')"
            spread="$(round_values rr_p50 "$leg" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f", (hi - lo) / 1000 }')"
            added_rounds="–"
            if [[ "$leg" != "direct" && "${leg_status[direct]:-}" == "ok" ]]; then
                added_rounds="$(round_diffs rr_p50 "$leg" direct | awk '{ printf "%s%+.3f", (NR > 1 ? " " : ""), $1 / 1000 }')"
            fi
            printf '| %s | %s | %s | %s | %s |\n' "$(leg_title "$leg")" "${r_rounds[$leg]}" "$per_round" "$spread" "$added_rounds"
        done
        echo
    fi
    if [[ "${leg_status[airlock]:-}" == "ok" && "${leg_status[portkey]:-}" == "ok" ]]; then
        a50="$(added_ms airlock rr_p50)"; p50="$(added_ms portkey rr_p50)"
        a99="$(added_ms airlock rr_p99)"; p99="$(added_ms portkey rr_p99)"
        printf 'Airlock / Portkey (lower is better except req/s): added p50 %s, added p99 %s, req/s %s, RSS under load %s, CPU per request %s\n' \
            "$(ratio "$a50" "$p50")" "$(ratio "$a99" "$p99")" "$(ratio "${r_rps[airlock]}" "${r_rps[portkey]}")" \
            "$(ratio "${r_rss[airlock]}" "${r_rss[portkey]}")" "$(ratio "${r_cpu[airlock]}" "${r_cpu[portkey]}")"
        echo
    fi
    if [[ "${leg_status[airlock]:-}" == "ok" ]]; then
        echo "| Airlock target | target | measured | met |"
        echo "|---|---:|---:|---|"
        v="$(added_ms airlock rr_p50)"
        echo "| added p50 at 1 connection | ≤ ${TARGET_ADDED_P50_MS} ms | $v ms | $(check "$v" "<=" "$TARGET_ADDED_P50_MS") |"
        echo "| throughput at 8 connections | ≥ ${TARGET_RPS} req/s | ${r_rps[airlock]} req/s | $(check "${r_rps[airlock]}" ">=" "$TARGET_RPS") |"
        v="$(mb "${r_rss[airlock]}")"
        echo "| RSS under load | ≤ ${TARGET_RSS_MB} MB | $v MB | $(check "$v" "<=" "$TARGET_RSS_MB") |"
        if [[ "${leg_status[airlock-nodurable]:-}" == "ok" ]]; then
            v="$(added_ms airlock rr_p50 airlock-nodurable)"
            echo "| durability (p50 airlock − airlock-nodurable) | ≤ ${TARGET_DURABLE_ADDED_P50_MS} ms | $v ms | $(check "$v" "<=" "$TARGET_DURABLE_ADDED_P50_MS") |"
            if [[ "${leg_status[airlock-commit]:-}" == "ok" ]]; then
                v="$(added_ms airlock-commit rr_p50 airlock-nodurable)"
                echo "| durability with audit.durable: commit (p50 airlock-commit − airlock-nodurable) | ≤ ${TARGET_DURABLE_ADDED_P50_MS} ms | $v ms | $(check "$v" "<=" "$TARGET_DURABLE_ADDED_P50_MS") |"
            fi
        fi
        if [[ "${leg_status[airlock-noinspect]:-}" == "ok" ]]; then
            v="$(added_ms airlock rr_p50 airlock-noinspect)"
            echo "| inspection (p50 airlock − airlock-noinspect) | ≤ ${TARGET_INSPECTION_ADDED_P50_MS} ms | $v ms | $(check "$v" "<=" "$TARGET_INSPECTION_ADDED_P50_MS") |"
        fi
    fi
    if [[ "${leg_status[bedrock]:-}" == "ok" ]]; then
        v="$(added_ms bedrock rr_p50)"
        [[ "${leg_status[airlock]:-}" == "ok" ]] || { echo "| Airlock target | target | measured | met |"; echo "|---|---:|---:|---|"; }
        echo "| Bedrock door added p50 at 1 connection | ≤ ${TARGET_BEDROCK_ADDED_P50_MS} ms | $v ms | $(check "$v" "<=" "$TARGET_BEDROCK_ADDED_P50_MS") |"
    fi
    if [[ "${leg_status[airlock]:-}" != "ok" ]]; then
        echo "Airlock targets (not measured in this run): added p50 ≤ ${TARGET_ADDED_P50_MS} ms at 1 connection," \
            "≥ ${TARGET_RPS} req/s at 8 connections, RSS under load ≤ ${TARGET_RSS_MB} MB."
    fi
    echo
} >"$report"

cat "$report"
mkdir -p "$RESULTS_DIR"
result_file="$RESULTS_DIR/gateway-$stamp.md"
cat "$report" >>"$result_file"
{
    echo "# raw wrk output for gateway-$stamp.md"
    echo
    cat "$raw_log"
} >>"$RESULTS_DIR/gateway-$stamp.raw.txt"
log "appended to ${result_file#"$REPO_ROOT"/} (raw wrk output: gateway-$stamp.raw.txt)"
if ((overall_rc != 0)); then
    log "at least one requested leg FAILED (see the status column)"
fi
exit "$overall_rc"
