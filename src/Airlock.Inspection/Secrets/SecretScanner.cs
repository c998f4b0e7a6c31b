using System.Buffers;
using System.Text.RegularExpressions;

namespace Airlock.Inspection;

/// <summary>
/// Runs a <see cref="RulePack"/> over text. Per string: ONE keyword pass (<see cref="SearchValues{T}"/>,
/// OrdinalIgnoreCase, Aho-Corasick/Teddy inside the runtime) selects the rules whose keyword occurs; only those
/// rules' regexes run, over the whole text when it is short and in merged windows around the keyword hits when
/// it is long. Each match then passes the entropy gate, the global placeholder filter, the rule's validator,
/// the allowlists and the companion (<c>[[rules.required]]</c>) check. Immutable and thread-safe.
/// </summary>
public sealed class SecretScanner : ITextScanner
{
    private readonly SecretScannerOptions _options;
    private readonly RuleRuntime[] _rules;
    private readonly SearchValues<string>? _keywords;
    private readonly Dictionary<char, KeywordEntry[]> _keywordsByFirstChar;
    private readonly Dictionary<string, int> _indexById;
    private readonly bool _anyRequired;

    public SecretScanner(RulePack pack, SecretScannerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pack);
        _options = options ?? new SecretScannerOptions();
        _options.Validate();
        Pack = pack;

        _rules = new RuleRuntime[pack.Rules.Count];
        _indexById = new Dictionary<string, int>(StringComparer.Ordinal);
        var keywordRules = new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < pack.Rules.Count; i++)
        {
            var rule = pack.Rules[i];
            var allowlists = pack.GlobalAllowlists.Where(a => a.AppliesTo(rule.Id)).Concat(rule.Allowlists).ToArray();
            _rules[i] = new RuleRuntime(rule, allowlists, _options.BuiltInEngine == BuiltInRegexEngine.NonBacktracking);
            _indexById[rule.Id] = i;
            _anyRequired |= rule.Required.Count > 0;
            if (rule.Regex is null)
            {
                continue;
            }

            foreach (var keyword in rule.Keywords)
            {
                if (!keywordRules.TryGetValue(keyword, out var list))
                {
                    keywordRules[keyword] = list = [];
                }

                list.Add(i);
            }
        }

        _keywordsByFirstChar = keywordRules
            .Select(kv => new KeywordEntry(kv.Key, [.. kv.Value]))
            .GroupBy(e => char.ToUpperInvariant(e.Keyword[0]))
            .ToDictionary(g => g.Key, g => g.OrderByDescending(e => e.Keyword.Length).ToArray());
        _keywords = keywordRules.Count > 0 ? SearchValues.Create([.. keywordRules.Keys], StringComparison.OrdinalIgnoreCase) : null;
    }

    /// <summary>The pack this scanner runs.</summary>
    public RulePack Pack { get; }

    /// <summary>Builds every rule's regex form now instead of on first use (call at startup, e.g. in the
    /// background, so the first requests do not pay ~20–400 ms per rule).</summary>
    public void WarmUp()
    {
        foreach (var runtime in _rules)
        {
            if (runtime.Rule.Regex is not null)
            {
                _ = runtime.CurrentRegex;
            }
        }
    }

    /// <inheritdoc />
    public void Scan(string text, List<TextMatch> results) => Scan(text, path: null, results);

    /// <summary>Scans <paramref name="text"/>; <paramref name="path"/> (when the text is a file) enables
    /// path-constrained rules and path allowlists.</summary>
    public void Scan(string text, string? path, List<TextMatch> results)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(results);
        if (_keywords is null || text.Length == 0)
        {
            return;
        }

        var from = results.Count;
        TextChunker.Scan(text, _options.MaxStringLength, _options.ChunkOverlap, results, (start, end, into) => ScanRange(text, start, end, path, into));
        TextChunker.SortAppended(results, from);
    }

    private void ScanRange(string text, int rangeStart, int rangeEnd, string? path, List<TextMatch> results)
    {
        var windowing = rangeEnd - rangeStart > _options.WindowingThreshold;
        var state = new ScanState(_rules.Length, windowing);
        FindKeywords(text, rangeStart, rangeEnd, state);
        if (state.TriggeredCount == 0)
        {
            return;
        }

        var candidates = new List<Candidate>();
        for (var i = 0; i < _rules.Length; i++)
        {
            if (!state.Triggered[i])
            {
                continue;
            }

            var runtime = _rules[i];
            var rule = runtime.Rule;
            if (rule.Path is not null && (path is null || !SafeIsMatch(rule.Path, path)))
            {
                continue;
            }

            if (windowing)
            {
                foreach (var (start, end) in state.Windows[i]!)
                {
                    RunRule(i, text, start, end, rangeStart, rangeEnd, path, candidates);
                }
            }
            else
            {
                RunRule(i, text, rangeStart, rangeEnd, rangeStart, rangeEnd, path, candidates);
            }
        }

        if (_anyRequired && candidates.Count > 0)
        {
            ApplyRequired(text, rangeStart, rangeEnd, candidates);
        }

        foreach (var candidate in candidates)
        {
            var rule = _rules[candidate.RuleIndex].Rule;
            if (!rule.SkipReport)
            {
                results.Add(new TextMatch(rule.Id, rule.Category, rule.Confidence, candidate.Start, candidate.Length, rule.Identifiable));
            }
        }
    }

    private void FindKeywords(string text, int rangeStart, int rangeEnd, ScanState state)
    {
        var span = text.AsSpan(rangeStart, rangeEnd - rangeStart);
        var pos = 0;
        while (pos < span.Length)
        {
            var rel = span[pos..].IndexOfAny(_keywords!);
            if (rel < 0)
            {
                break;
            }

            var at = pos + rel;
            if (_keywordsByFirstChar.TryGetValue(char.ToUpperInvariant(span[at]), out var entries))
            {
                var rest = span[at..];
                foreach (var entry in entries)
                {
                    if (!rest.StartsWith(entry.Keyword, StringComparison.OrdinalIgnoreCase))
                    {
                        continue;
                    }

                    foreach (var ruleIndex in entry.RuleIndexes)
                    {
                        state.Trigger(ruleIndex);
                        if (state.Windowing)
                        {
                            var after = _rules[ruleIndex].Rule.HasUnboundedRepeat ? _options.LongMatchWindow : _options.WindowRadius;
                            var hit = rangeStart + at;
                            state.AddWindow(
                                ruleIndex,
                                Math.Max(rangeStart, hit - _options.WindowRadius),
                                (int)Math.Min(rangeEnd, (long)hit + entry.Keyword.Length + after));
                        }
                    }
                }
            }

            pos = at + 1;
        }
    }

    private void RunRule(int ruleIndex, string text, int start, int end, int rangeStart, int rangeEnd, string? path, List<Candidate> candidates)
    {
        var runtime = _rules[ruleIndex];
        var before = candidates.Count;
        try
        {
            RunRegex(runtime.CurrentRegex, ruleIndex, text, start, end, rangeStart, rangeEnd, path, candidates);
        }
        catch (RegexMatchTimeoutException)
        {
            // A vetted built-in pattern backtracked past its budget on this input: switch the rule to the
            // linear-time engine for good and redo this window, so the scan stays bounded and complete.
            candidates.RemoveRange(before, candidates.Count - before);
            runtime.SwitchToLinear();
            RunRegex(runtime.CurrentRegex, ruleIndex, text, start, end, rangeStart, rangeEnd, path, candidates);
        }
    }

    private void RunRegex(Regex regex, int ruleIndex, string text, int start, int end, int rangeStart, int rangeEnd, string? path, List<Candidate> candidates)
    {
        var runtime = _rules[ruleIndex];
        var rule = runtime.Rule;
        for (var match = regex.Match(text, start, end - start); match.Success; match = match.NextMatch())
        {
            if (!TryGetSecret(rule, match, out var secretStart, out var secretLength))
            {
                continue;
            }

            var secret = text.AsSpan(secretStart, secretLength);
            if (rule.Entropy is { } minimum && ShannonEntropy.Compute(secret) <= minimum)
            {
                continue;
            }

            if (rule.Category == FindingCategory.Secret && PlaceholderFilter.IsPlaceholder(secret))
            {
                continue;
            }

            if (rule.Validator is not null && !SecretValidators.Validate(rule.Validator, secret))
            {
                continue;
            }

            if (runtime.Allowlists.Length > 0 && IsAllowed(runtime.Allowlists, text, match, secretStart, secretLength, rangeStart, rangeEnd, path))
            {
                continue;
            }

            candidates.Add(new Candidate(ruleIndex, secretStart, secretLength));
        }
    }

    private static bool TryGetSecret(SecretRule rule, Match match, out int start, out int length)
    {
        if (rule.SecretGroup > 0)
        {
            var group = match.Groups[rule.NetGroupNumber(rule.SecretGroup)];
            start = group.Index;
            length = group.Length;
            return group.Success && group.Length > 0;
        }

        // gitleaks: without secretGroup the first non-empty capture group is the secret, else the whole match.
        for (var go = 1; go <= rule.GroupCount; go++)
        {
            var group = match.Groups[rule.NetGroupNumber(go)];
            if (group.Success && group.Length > 0)
            {
                start = group.Index;
                length = group.Length;
                return true;
            }
        }

        start = match.Index;
        length = match.Length;
        return length > 0;
    }

    private static bool IsAllowed(RuleAllowlist[] allowlists, string text, Match match, int secretStart, int secretLength, int rangeStart, int rangeEnd, string? path)
    {
        var secret = text.AsSpan(secretStart, secretLength);
        foreach (var allowlist in allowlists)
        {
            var hasRegex = allowlist.Regexes.Count > 0;
            var hasStop = allowlist.StopWords.Count > 0;
            var hasPath = allowlist.Paths.Count > 0;
            if (!hasRegex && !hasStop && !hasPath)
            {
                continue;
            }

            var regexHit = false;
            if (hasRegex)
            {
                var target = allowlist.RegexTarget switch
                {
                    AllowlistTarget.Match => text.AsSpan(match.Index, match.Length),
                    AllowlistTarget.Line => LineAround(text, match.Index, match.Index + match.Length, rangeStart, rangeEnd),
                    _ => secret,
                };
                foreach (var regex in allowlist.Regexes)
                {
                    if (SafeIsMatch(regex, target))
                    {
                        regexHit = true;
                        break;
                    }
                }
            }

            var stopHit = false;
            if (hasStop)
            {
                foreach (var stopWord in allowlist.StopWords)
                {
                    if (secret.Contains(stopWord, StringComparison.OrdinalIgnoreCase))
                    {
                        stopHit = true;
                        break;
                    }
                }
            }

            var pathHit = false;
            if (hasPath && path is not null)
            {
                foreach (var regex in allowlist.Paths)
                {
                    if (SafeIsMatch(regex, path))
                    {
                        pathHit = true;
                        break;
                    }
                }
            }

            var allowed = allowlist.Condition == AllowlistCondition.Or
                ? regexHit || stopHit || pathHit
                : (!hasRegex || regexHit) && (!hasStop || stopHit) && (!hasPath || pathHit);
            if (allowed)
            {
                return true;
            }
        }

        return false;
    }

    // An allowlist regex that times out allows nothing: the finding stays (fail closed).
    private static bool SafeIsMatch(Regex regex, ReadOnlySpan<char> input)
    {
        try
        {
            return regex.IsMatch(input);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private static ReadOnlySpan<char> LineAround(string text, int start, int end, int rangeStart, int rangeEnd)
    {
        var lineStart = start > rangeStart ? text.LastIndexOf('\n', start - 1, start - rangeStart) + 1 : rangeStart;
        lineStart = Math.Max(lineStart, rangeStart);
        var newline = end < rangeEnd ? text.IndexOf('\n', end, rangeEnd - end) : -1;
        var lineEnd = newline < 0 ? rangeEnd : newline;
        return text.AsSpan(lineStart, lineEnd - lineStart);
    }

    private void ApplyRequired(string text, int rangeStart, int rangeEnd, List<Candidate> candidates)
    {
        var lines = new LineIndex(text, rangeStart, rangeEnd);
        var byRule = candidates.GroupBy(c => c.RuleIndex).ToDictionary(g => g.Key, g => g.ToList());
        candidates.RemoveAll(candidate =>
        {
            var rule = _rules[candidate.RuleIndex].Rule;
            foreach (var required in rule.Required)
            {
                if (!_indexById.TryGetValue(required.Id, out var companionIndex) || !byRule.TryGetValue(companionIndex, out var companions))
                {
                    return true;
                }

                var (line, column) = lines.Locate(candidate.Start);
                var near = companions.Exists(companion =>
                {
                    var (otherLine, otherColumn) = lines.Locate(companion.Start);
                    return (required.WithinLines is not { } maxLines || Math.Abs(otherLine - line) <= maxLines)
                        && (required.WithinColumns is not { } maxColumns || Math.Abs(otherColumn - column) <= maxColumns);
                });
                if (!near)
                {
                    return true;
                }
            }

            return false;
        });
    }

    private static bool SafeIsMatch(Regex regex, string input) => SafeIsMatch(regex, input.AsSpan());

    private readonly record struct Candidate(int RuleIndex, int Start, int Length);

    private sealed record KeywordEntry(string Keyword, int[] RuleIndexes);

    /// <summary>Per-rule runtime state: the allowlists that apply and, for built-in rules, the linear fallback.</summary>
    private sealed class RuleRuntime
    {
        private readonly Lazy<Regex>? _linear;
        private volatile bool _useLinear;

        public RuleRuntime(SecretRule rule, RuleAllowlist[] allowlists, bool preferLinear)
        {
            Rule = rule;
            Allowlists = allowlists;
            if (rule.IsBuiltIn && rule.Regex is not null)
            {
                var pattern = rule.Regex.ToString();
                _linear = new Lazy<Regex>(() => RuleRegexFactory.CreateLinear(pattern), LazyThreadSafetyMode.ExecutionAndPublication);
                _useLinear = preferLinear;
            }
        }

        public SecretRule Rule { get; }

        public RuleAllowlist[] Allowlists { get; }

        public Regex CurrentRegex => _useLinear && _linear is not null ? _linear.Value : Rule.Regex!;

        public void SwitchToLinear()
        {
            if (_linear is null)
            {
                throw new InvalidOperationException($"Rule '{Rule.Id}' timed out without a linear fallback.");
            }

            _useLinear = true;
        }
    }

    /// <summary>Which rules a keyword triggered in one range, and (for long texts) their merged windows.</summary>
    private sealed class ScanState
    {
        public ScanState(int ruleCount, bool windowing)
        {
            Triggered = new bool[ruleCount];
            Windowing = windowing;
            Windows = windowing ? new List<(int Start, int End)>?[ruleCount] : [];
        }

        public bool[] Triggered { get; }

        public int TriggeredCount { get; private set; }

        public bool Windowing { get; }

        public List<(int Start, int End)>?[] Windows { get; }

        public void Trigger(int ruleIndex)
        {
            if (!Triggered[ruleIndex])
            {
                Triggered[ruleIndex] = true;
                TriggeredCount++;
            }
        }

        public void AddWindow(int ruleIndex, int start, int end)
        {
            var list = Windows[ruleIndex] ??= [];
            if (list.Count > 0 && start <= list[^1].End)
            {
                var last = list[^1];
                list[^1] = (last.Start, Math.Max(last.End, end));
            }
            else
            {
                list.Add((start, end));
            }
        }
    }

    /// <summary>Maps offsets to (line, column) within a range, for the companion distance check.</summary>
    private sealed class LineIndex
    {
        private readonly List<int> _lineStarts = [];

        public LineIndex(string text, int rangeStart, int rangeEnd)
        {
            _lineStarts.Add(rangeStart);
            for (var i = text.IndexOf('\n', rangeStart, rangeEnd - rangeStart); i >= 0; i = i + 1 < rangeEnd ? text.IndexOf('\n', i + 1, rangeEnd - i - 1) : -1)
            {
                _lineStarts.Add(i + 1);
            }
        }

        public (int Line, int Column) Locate(int offset)
        {
            var index = _lineStarts.BinarySearch(offset);
            var line = index >= 0 ? index : ~index - 1;
            return (line, offset - _lineStarts[line]);
        }
    }
}
