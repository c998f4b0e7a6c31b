#!/usr/bin/env bash
# Installs the pinned Claude Code CLI (npm @anthropic-ai/claude-code) into <repo>/.tools/claude-code
# and prints the absolute path of its native `claude` binary on stdout (and nothing else there).
#
# How the package ships the binary (observed in 2.1.330): the wrapper package lists one
# optionalDependency per platform (@anthropic-ai/claude-code-linux-x64, ...-linux-x64-musl, ...);
# each holds a single self-contained native executable named `claude`. The wrapper's postinstall
# (install.cjs) hard-links that file over bin/claude.exe. npm may decline to run install scripts,
# so this script does not depend on the postinstall: it uses the platform package's binary directly.
# The binary needs neither node nor the network to start (`claude --version` works offline).
#
# Idempotent: when the pinned version is already installed and runs, nothing is downloaded.
# Usage: scripts/install-claude-code.sh [--quiet]
set -euo pipefail

readonly CLAUDE_CODE_VERSION="2.1.330"
readonly PACKAGE="@anthropic-ai/claude-code"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${repo_root}/.tools/claude-code"
quiet="${1:-}"

log() {
    if [[ "${quiet}" != "--quiet" ]]; then
        echo "install-claude-code: $*" >&2
    fi
}

platform_key() {
    local os cpu
    os="$(uname -s | tr '[:upper:]' '[:lower:]')"
    case "$(uname -m)" in
        x86_64 | amd64) cpu="x64" ;;
        aarch64 | arm64) cpu="arm64" ;;
        *) echo "unsupported CPU $(uname -m)" >&2; return 1 ;;
    esac
    local key="${os}-${cpu}"
    # musl libc (Alpine) has its own build; glibc systems have ld-linux-*.so.
    if [[ "${os}" == "linux" ]] && ! ls /lib*/ld-linux-* >/dev/null 2>&1 && ls /lib/ld-musl-* >/dev/null 2>&1; then
        key="${key}-musl"
    fi
    echo "${key}"
}

# Prints the path of a working native binary of the pinned version, or returns 1.
find_binary() {
    local key candidate version
    key="$(platform_key)"
    for candidate in \
        "${prefix}/node_modules/${PACKAGE}-${key}/claude" \
        "${prefix}/node_modules/${PACKAGE}/bin/claude.exe"; do
        if [[ -x "${candidate}" ]]; then
            # A fresh HOME keeps the probe from reading or writing the user's configuration.
            version="$(HOME="$(mktemp -d)" "${candidate}" --version 2>/dev/null || true)"
            if [[ "${version}" == "${CLAUDE_CODE_VERSION} "* ]]; then
                echo "${candidate}"
                return 0
            fi
        fi
    done
    return 1
}

if binary="$(find_binary)"; then
    log "Claude Code ${CLAUDE_CODE_VERSION} already installed"
    echo "${binary}"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "install-claude-code: npm is required (apt-get install -y nodejs npm)" >&2
    exit 1
fi

log "installing ${PACKAGE}@${CLAUDE_CODE_VERSION} into ${prefix}"
mkdir -p "${prefix}"
# --prefix keeps the install inside the repository (.tools/ is git-ignored); optional
# dependencies must stay on because they carry the native binary.
npm install --prefix "${prefix}" --no-audit --no-fund --loglevel=error \
    "${PACKAGE}@${CLAUDE_CODE_VERSION}" >&2

if ! binary="$(find_binary)"; then
    echo "install-claude-code: installed, but no runnable claude ${CLAUDE_CODE_VERSION} binary for $(platform_key) under ${prefix}" >&2
    exit 1
fi

log "installed: $("${binary}" --version 2>/dev/null)"
echo "${binary}"
