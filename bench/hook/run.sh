#!/usr/bin/env bash
# Hook start-up benchmark: runs the NativeAOT airlock-hook as Claude Code does (a new process per event, JSON on
# stdin) and reports p50/p90/max wall time per scenario, including process start. hyperfine is not available, so a
# small Python loop times each run with perf_counter around subprocess.run; /bin/true gives the spawn floor.
# No gateway is configured (state in a temp folder), so the numbers are start + decision, without network.
# The CPU column (user+sys per process, from getrusage) depends far less on other load than wall time does.
# Usage: bench/hook/run.sh [runs-per-scenario] [other-airlock-hook]   (default 200; under a minute on an idle 2-core machine)
# With a second binary (e.g. a copy of an older build) both run each scenario in turn, run by run, so a ratio taken
# under load compares like with like; one state folder each.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${1:-200}"
other="${2:-}"
hook="$("${root}/scripts/publish-hook.sh")"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
mkdir -p "${work}/project"
printf 'package main\n// Token returns the session key\nfunc Token(key string) string { return key }\n' > "${work}/project/main.go"
printf 'API_TOKEN=not-a-real-token\n' > "${work}/project/.env"
printf 'ok\n' > "${work}/project/build.txt"
# A throwaway RSA key made on the spot (never a real credential).
openssl genrsa 2048 2>/dev/null > "${work}/project/notes.txt" || python3 -c "print('-----BEGIN RSA PRIVATE KEY-----')" > "${work}/project/notes.txt"

python3 - "${hook}" "${work}" "${runs}" ${other:+"${other}"} <<'PY'
import json, os, resource, statistics, subprocess, sys, time
hook, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
hooks = [hook] + sys.argv[4:]
project = os.path.join(work, "project")
def environment(i):
    return {"PATH": os.environ.get("PATH", ""), "HOME": work, "AIRLOCK_HOOK_HOME": os.path.join(work, f"state{i}")}
env = environment(0)

def event(name, **fields):
    return json.dumps({"session_id": "bench", "transcript_path": "/dev/null", "cwd": project, "hook_event_name": name, **fields}).encode()

scenarios = [
    ("spawn floor (/bin/true)", ["/bin/true"], b""),
    ("SessionStart (report only)", [hook], event("SessionStart", source="startup")),
    ("PreToolUse Read main.go (allowed)", [hook], event("PreToolUse", tool_name="Read", tool_input={"file_path": "main.go"})),
    ("PreToolUse Read .env (denied by name)", [hook], event("PreToolUse", tool_name="Read", tool_input={"file_path": ".env"})),
    ("PreToolUse Bash cat build.txt (allowed)", [hook], event("PreToolUse", tool_name="Bash", tool_input={"command": "cat build.txt"})),
    ("PreToolUse Read notes.txt (private key)", [hook], event("PreToolUse", tool_name="Read", tool_input={"file_path": "notes.txt"})),
    ("UserPromptSubmit (no secret)", [hook], event("UserPromptSubmit", prompt="refactor the order parser and add tests")),
]
# Warm-up: a first call (older builds write their keyword cache then).
for i, h in enumerate(hooks):
    subprocess.run([h], input=scenarios[2][2], env=environment(i), capture_output=True)
print(f"airlock-hook start + decision, {runs} runs per scenario: wall time per process (ms), and CPU time (user+sys) per process")
for i, h in enumerate(hooks):
    print(f"binary {i + 1}: {h}")
print(f"{'scenario':44}" + "".join(f" {'p50':>7} {'p90':>7} {'max':>7} {'cpu':>7}" for _ in hooks))
for name, argv, stdin in scenarios:
    times = [[] for _ in hooks]
    cpu = [0.0 for _ in hooks]
    commands = [argv] if argv[0] != hook else [[h] + argv[1:] for h in hooks]
    for _ in range(runs):
        for i, command in enumerate(commands):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(command, input=stdin, env=environment(i), capture_output=True)
            times[i].append((time.perf_counter() - start) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[i] += ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000 / runs
            if done.returncode != 0:
                sys.exit(f"{name}: exit {done.returncode}: {done.stderr.decode()}")
    row = f"{name:44}"
    for i in range(len(commands)):
        t = sorted(times[i])
        row += f" {statistics.median(t):7.1f} {t[int(len(t) * 0.9)]:7.1f} {t[-1]:7.1f} {cpu[i]:7.1f}"
    print(row)
PY
