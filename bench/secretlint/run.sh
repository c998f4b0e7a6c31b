#!/usr/bin/env bash
# Side by side: secretlint (npm, preset-recommend) vs Airlock's scanner on the same generated corpus with planted
# FAKE tokens. Usage: bench/secretlint/run.sh [output.md]   (appends a section to the results file when given)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TOOLS="$ROOT/.tools/secretlint"
SECRETLINT_VERSION=13.0.6
PRESET_VERSION=13.0.7
WORK="$(mktemp -d /tmp/airlock-secretlint.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

if [ ! -x "$TOOLS/node_modules/.bin/secretlint" ]; then
  mkdir -p "$TOOLS"
  (cd "$TOOLS" && echo '{"name":"airlock-secretlint-bench","private":true}' > package.json \
    && npm install --no-audit --no-fund "secretlint@$SECRETLINT_VERSION" "@secretlint/secretlint-rule-preset-recommend@$PRESET_VERSION" >/dev/null)
fi

dotnet build "$ROOT/bench/Airlock.Benchmarks" -c Release -v q -nologo >/dev/null
BENCH="dotnet $ROOT/bench/Airlock.Benchmarks/bin/Release/net10.0/Airlock.Benchmarks.dll"
mkdir -p "$WORK/corpus"
$BENCH corpus "$WORK/corpus" >&2
BYTES=$(find "$WORK/corpus" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')

cat > "$WORK/.secretlintrc.json" <<'JSON'
{ "rules": [ { "id": "@secretlint/secretlint-rule-preset-recommend" } ] }
JSON
start=$(date +%s.%N)
(cd "$WORK" && NODE_PATH="$TOOLS/node_modules" "$TOOLS/node_modules/.bin/secretlint" --secretlintrc .secretlintrc.json \
  --format json --no-color "corpus/**/*" > "$WORK/secretlint.json" 2>"$WORK/secretlint.err") || true
end=$(date +%s.%N)
SL_MS=$(echo "($end - $start) * 1000" | bc)

start=$(date +%s.%N)
$BENCH scan "$WORK/corpus" > "$WORK/airlock.tsv" 2> "$WORK/airlock.err"
end=$(date +%s.%N)
AL_MS=$(echo "($end - $start) * 1000" | bc)

python3 - "$WORK" "$BYTES" "$SL_MS" "$AL_MS" "${1:-}" <<'PY'
import json, sys, os, collections
work, total, sl_ms, al_ms, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
planted = [l.rstrip('\n').split('\t') for l in open(os.path.join(work, 'planted.tsv')).readlines()[1:]]
sl = collections.defaultdict(set)
raw = open(os.path.join(work, 'secretlint.json')).read().strip() or '[]'
for f in json.loads(raw):
    rel = os.path.relpath(f['filePath'], os.path.join(work, 'corpus'))
    for m in f.get('messages', []):
        sl[(rel, m['loc']['start']['line'])].add(m.get('ruleId', '?').split('/')[-1])
al = collections.defaultdict(set)
for l in open(os.path.join(work, 'airlock.tsv')):
    p, line, rule = l.rstrip('\n').split('\t')
    al[(p, int(line))].add(rule)
planted_keys = {(p, int(n)) for p, n, _ in planted}
lines = []
lines.append(f"| | secretlint {os.environ.get('SECRETLINT_VERSION','13.0.6')} (preset-recommend) | Airlock (built-in pack, in-process) |")
lines.append("|---|---|---|")
lines.append(f"| wall time, whole run (process start included) | {sl_ms:.0f} ms | {al_ms:.0f} ms |")
lines.append(f"| corpus | {total/1e6:.2f} MB | same |")
lines.append(f"| MB/s (wall) | {total/1e6/(sl_ms/1000):.2f} | {total/1e6/(al_ms/1000):.2f} |")
found_sl = sum(1 for k in planted_keys if k in sl); found_al = sum(1 for k in planted_keys if k in al)
lines.append(f"| planted fake tokens found | {found_sl}/{len(planted)} | {found_al}/{len(planted)} |")
fp_sl = sum(1 for k in sl if k not in planted_keys); fp_al = sum(1 for k in al if k not in planted_keys)
lines.append(f"| findings on lines without a planted token (false positives) | {fp_sl} | {fp_al} |")
lines.append("")
lines.append("| planted token | secretlint | Airlock |")
lines.append("|---|---|---|")
for p, n, kind in planted:
    k = (p, int(n))
    lines.append(f"| {kind} | {'found (' + ', '.join(sorted(sl[k])) + ')' if k in sl else 'missed'} | {'found (' + ', '.join(sorted(al[k])) + ')' if k in al else 'missed'} |")
text = '\n'.join(lines) + '\n'
print(text)
print(open(os.path.join(work, 'airlock.err')).read().strip(), file=sys.stderr)
print(open(os.path.join(work, 'secretlint.err')).read().strip()[:400], file=sys.stderr)
if out:
    with open(out, 'a') as f:
        f.write(text)
PY
