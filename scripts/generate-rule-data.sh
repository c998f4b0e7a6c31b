#!/usr/bin/env bash
# Regenerates src/Airlock.Inspection/Secrets/BuiltInRuleData.g.cs (the pre-parsed built-in rule pack that
# airlock-hook uses instead of parsing rules/secrets.toml) after rules/secrets.toml changed.
# The same test fails in ./scripts/test.sh while the file is stale.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Build first so the writer sees the current TOML; the test then writes the file (and fails this once, because the
# assembly it runs in still holds the old data), so build and check again.
dotnet build "${root}/test/Airlock.Inspection.Tests" -c Release --nologo -v quiet -clp:ErrorsOnly
AIRLOCK_WRITE_RULE_DATA=1 dotnet test "${root}/test/Airlock.Inspection.Tests" -c Release --no-build --nologo \
    --filter "FullyQualifiedName~BuiltInRuleDataTests.The_pre_parsed_form_is_generated_from_the_current_toml" >/dev/null || true
dotnet test "${root}/test/Airlock.Inspection.Tests" -c Release --nologo --filter "FullyQualifiedName~BuiltInRuleDataTests"
