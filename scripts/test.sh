#!/usr/bin/env bash
# The one test command (README, CI): installs what a fresh machine lacks, builds, runs every test
# project, and ends with one line: "tests: N passed, N failed, N skipped".
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RESULTS="$ROOT/test-results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

step() { echo "== $*" >&2; }

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test: the .NET 10 SDK (dotnet) is required" >&2
  exit 1
fi

# Real parts the tests start: the Claude Code CLI (npm, pinned; its native binary runs offline).
step "installing Claude Code (pinned)"
if ! "$ROOT/scripts/install-claude-code.sh" --quiet >/dev/null; then
  echo "test: installing Claude Code failed; end-to-end tests will fail" >&2
fi

# airlock-hook is published NativeAOT (what fleets install, what the end-to-end tests hand to Claude Code).
# NativeAOT links with the system C toolchain; skipped when the binary is newer than its sources.
step "publishing airlock-hook and airlock-hook-send (NativeAOT)"
if ! command -v clang >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq clang zlib1g-dev) >/dev/null 2>&1 || echo "test: no C toolchain for NativeAOT" >&2
fi
if ! "$ROOT/scripts/publish-hook.sh" >/dev/null; then
  echo "test: publishing airlock-hook failed; Claude Code control tests will fail" >&2
fi

# PostgreSQL (Debian package) for the audit store contract tests: a private cluster on a loopback port,
# stopped when this script exits (scripts/test-postgres.sh installs the package if it is missing).
step "starting PostgreSQL (private test cluster)"
if AIRLOCK_TEST_POSTGRES="$("$ROOT/scripts/test-postgres.sh" start)"; then
  export AIRLOCK_TEST_POSTGRES
  trap '"$ROOT/scripts/test-postgres.sh" stop' EXIT
else
  echo "test: PostgreSQL could not be started; PostgreSQL tests will fail" >&2
fi

# Chromium (Debian package) for the posture report's browser test (Playwright drives /usr/bin/chromium; no browser download).
step "installing Chromium (Debian package) if missing"
if [ ! -x /usr/bin/chromium ]; then
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || echo "test: installing chromium failed; the posture browser test will fail" >&2
fi

# flock(1) (util-linux) for the audit journal's lock test (another process must see the gateway's exclusive flock).
if ! command -v flock >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq util-linux) >/dev/null 2>&1 || echo "test: flock is missing; the audit journal lock test will fail" >&2
fi

# The official AWS JavaScript Bedrock client (npm, pinned in test/aws-sdk-client/) for AwsSdkClientTests.
step "installing the AWS SDK for JavaScript Bedrock client (pinned)"
if ! "$ROOT/test/aws-sdk-client/install.sh" >/dev/null; then
  echo "test: installing the AWS SDK client failed; AwsSdkClientTests will fail" >&2
fi

step "building"
if ! dotnet build "$ROOT/Airlock.slnx" -c Release --nologo -v quiet -clp:ErrorsOnly; then
  echo "tests: 0 passed, 1 failed, 0 skipped"
  exit 1
fi

# Test projects run one after another: the machine has 2 cores and the end-to-end tests start real processes.
status=0
for project in test/*/*.csproj; do
  name="$(basename "$project" .csproj)"
  grep -q '<IsTestProject>false</IsTestProject>' "$project" && continue
  step "testing $name"
  if ! dotnet test "$project" -c Release --no-build --nologo \
      --logger "trx;LogFileName=$name.trx" --results-directory "$RESULTS" \
      --logger "console;verbosity=minimal" -- RunConfiguration.TestSessionTimeout=1500000; then
    status=1
  fi
done

# Artifacts tests keep (the posture report's Chromium screenshot) go next to the TRX files, where CI collects them.
cp test/*/bin/Release/net10.0/artifacts/* "$RESULTS/" 2>/dev/null || true

# Sum the TRX counters of every project (a project that crashed before writing its TRX counts as one failure).
python3 - "$RESULTS" "$status" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
results, status = sys.argv[1], int(sys.argv[2])
passed = failed = skipped = 0
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
files = glob.glob(f"{results}/*.trx")
for f in files:
    c = ET.parse(f).getroot().find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed", 0))
    failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    skipped += int(c.get("notExecuted", 0))
if status != 0 and failed == 0:
    failed = 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
