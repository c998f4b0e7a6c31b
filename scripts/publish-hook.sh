#!/usr/bin/env bash
# Publishes airlock-hook (NativeAOT) and its network half airlock-hook-send (installed side by side: the hook starts
# the sender from its own folder) into <repo>/.tools/airlock-hook and prints the hook binary's path on stdout.
# The end-to-end tests and the hook benchmark run this binary; fleets install the same build.
# Skips the publish when the binary is newer than every source it is built from (about a minute saved).
# Usage: scripts/publish-hook.sh [--force]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${root}/.tools/airlock-hook"
binary="${out}/airlock-hook"

case "$(uname -m)" in
    x86_64 | amd64) cpu="x64" ;;
    aarch64 | arm64) cpu="arm64" ;;
    *) echo "publish-hook: unsupported CPU $(uname -m)" >&2; exit 1 ;;
esac
case "$(uname -s)" in
    Linux) rid="linux-${cpu}" ;;
    Darwin) rid="osx-${cpu}" ;;
    *) echo "publish-hook: unsupported OS $(uname -s)" >&2; exit 1 ;;
esac

if [[ "${1:-}" != "--force" && -x "${binary}" && -x "${out}/airlock-hook-send" ]]; then
    newer="$(find "${root}/src/Airlock.Hook" "${root}/src/Airlock.HookSender" "${root}/src/Airlock.ClaudeCode" "${root}/src/Airlock.Inspection" "${root}/src/Shared" \
        "${root}/rules/secrets.toml" "${root}/Directory.Build.props" "${root}/Directory.Packages.props" \
        -newer "${binary}" \( -name '*.cs' -o -name '*.csproj' -o -name '*.toml' -o -name '*.props' \) \
        -not -path '*/obj/*' -not -path '*/bin/*' -print -quit)"
    if [[ -z "${newer}" ]]; then
        echo "${binary}"
        exit 0
    fi
fi

# NativeAOT links with the system C toolchain (clang or gcc) and needs zlib headers on Linux.
dotnet publish "${root}/src/Airlock.Hook/Airlock.Hook.csproj" -c Release -r "${rid}" -o "${out}" \
    --nologo -v quiet -clp:ErrorsOnly -p:DebugType=none >&2
dotnet publish "${root}/src/Airlock.HookSender/Airlock.HookSender.csproj" -c Release -r "${rid}" -o "${out}" \
    --nologo -v quiet -clp:ErrorsOnly -p:DebugType=none >&2
touch "${out}/airlock-hook-send" "${binary}"
echo "${binary}"
