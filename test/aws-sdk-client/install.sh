#!/usr/bin/env bash
# Installs the pinned AWS JavaScript Bedrock Runtime client (package.json + package-lock.json beside this script) into
# <repo>/.tools/aws-sdk-client and prints that directory on stdout. Idempotent: nothing is downloaded when the pinned
# version is already there. Used by Airlock.EndToEndTests (AwsSdkClientTests) and called by scripts/test.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${here}/../.." && pwd)"
prefix="${repo_root}/.tools/aws-sdk-client"
pinned="$(node -e 'console.log(require(process.argv[1]).dependencies["@aws-sdk/client-bedrock-runtime"])' "${here}/package.json")"
installed="$(node -e 'try{console.log(require(process.argv[1]).version)}catch{console.log("")}' \
  "${prefix}/node_modules/@aws-sdk/client-bedrock-runtime/package.json" 2>/dev/null || true)"
if [[ "${installed}" != "${pinned}" ]] || ! cmp -s "${here}/invoke.mjs" "${prefix}/invoke.mjs"; then
  mkdir -p "${prefix}"
  cp "${here}/package.json" "${here}/package-lock.json" "${here}/invoke.mjs" "${prefix}/"
  (cd "${prefix}" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
fi
echo "${prefix}"
