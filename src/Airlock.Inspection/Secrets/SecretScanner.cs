using System.Globalization;
using System.Buffers;
using System.Text.RegularExpressions;

namespace Airlock.Inspection;

/// <summary>
/// Runs a <see cref="RulePack"/> over text. Per string: ONE keyword pass (<see cref="SearchValues{T}"/>,
/// OrdinalIgnoreCase, Aho-Corasick/Teddy inside the runtime) selects the rules whose keyword occurs; only those
/// rules' regexes run, over the whole text when it is short and in merged windows around the keyword hits when
/// it is long. Each match then passes the entropy gate, the global placeholder filter, the rule's validator,
/// the allowlists and the companion (<c>[[rules.required]]</c>) check. Keyword-less rules (organization packs only,
/// as gitleaks allows) run on their linear-time regex over every range, through the same per-match checks.
/// Immutable and thread-safe.
/// </summary>
public sealed class SecretScanner : ITextScanner
{
    private readonly SecretScannerOptions _options;
    private readonly RuleRuntime[] _rules;
    private readonly KeywordMatcher? _keywords;
    private readonly int[][] _keywordRules;
    private readonly int[] _alwaysRules;
    private readonly Dictionary<string, int> _indexById;
    private readonly bool _anyRequired;

    [ThreadStatic]
    private static ScanScratch? t_scratch;

    public SecretScanner(RulePack pack, SecretScannerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pack);
        _options = options ?? new SecretScannerOptions();
        _options.Validate();
        Pack = pack;

        _rules = new RuleRuntime[pack.Rules.Count];
        _indexById = new Dictionary<string, int>(StringComparer.Ordinal);
        var keywordRules = new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
        var alwaysRules = new List<int>();
        for (var i = 0; i < pack.Rules.Count; i++)
        {
            var rule = pack.Rules[i];
            var allowlists = pack.GlobalAllowlists.Where(a => a.AppliesTo(rule.Id)).Concat(rule.Allowlists).ToArray();
            _rules[i] = new RuleRuntime(rule, allowlists, _options.BuiltInEngine, _options.HitGates);
            _indexById[rule.Id] = i;
            _anyRequired |= rule.Required.Count > 0;
            if (rule.NetPattern is null)
            {
                continue;
            }

            if (rule.Keywords.Count == 0)
            {
                // Only organization packs load such rules (gitleaks semantics): they run over every range.
                alwaysRules.Add(i);
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

        var keywords = keywordRules.Keys.ToArray();
        _keywordRules = [.. keywords.Select(k => keywordRules[k].ToArray())];
        _keywords = keywords.Length > 0 ? new KeywordMatcher(keywords) : null;
        _alwaysRules = [.. alwaysRules];
    }

    /// <summary>The pack this scanner runs.</summary>
    public RulePack Pack { get; }

    /// <summary>Builds every rule's regex form now instead of on first use. Only needed with
    /// <see cref="BuiltInRegexEngine.NonBacktracking"/> or <see cref="BuiltInRegexEngine.Compiled"/> (~20–400 ms per rule
    /// for the linear form); the default interpreted engine is ready at load.</summary>
    public void WarmUp()
    {
        foreach (var runtime in _rules)
        {
            if (runtime.Rule.NetPattern is not null)
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
        if ((_keywords is null && _alwaysRules.Length == 0) || text.Length == 0)
        {
            return;
        }

        var from = results.Count;
        TextChunker.Scan(text, _options.MaxStringLength, _options.ChunkOverlap, results, (start, end, into) => ScanRange(text, start, end, path, into));
        TextChunker.SortAppended(results, from);
    }

    private void ScanRange(string text, int rangeStart, int rangeEnd, string? path, List<TextMatch> results)
    {
        var scratch = t_scratch ??= new ScanScratch();
        t_scratch = null; // a nested scan on this thread (none today) gets its own scratch
        try
        {
            scratch.Reset(_rules.Length);
            _keywords?.FindAll(text.AsSpan(rangeStart, rangeEnd - rangeStart), scratch.Hits);
            if (scratch.Hits.Count == 0 && _alwaysRules.Length == 0)
            {
                return;
            }

            if (scratch.Hits.Count > 0)
            {
                CollectWindows(text, rangeStart, rangeEnd, path, scratch);
            }

            var candidates = scratch.Candidates;
            foreach (var window in scratch.Windows)
            {
                if (!window.Live)
                {
                    continue; // no keyword hit of this window is followed by the assignment the rule needs
                }

                // Cheap necessary conditions first (vectorized IndexOfAny); the regex only runs where they hold.
                if (!_rules[window.RuleIndex].Requirements.MayMatch(text.AsSpan(window.Start, window.End - window.Start), out var skip))
                {
                    continue;
                }

                if (window.AnchorTo >= 0)
                {
                    RunAnchored(window.RuleIndex, text, window.Start + skip, window.AnchorTo, window.End, rangeStart, rangeEnd, path, scratch);
                }
                else
                {
                    RunRule(window.RuleIndex, text, window.Start + skip, window.End, rangeStart, rangeEnd, path, candidates);
                }
            }

            foreach (var ruleIndex in _alwaysRules)
            {
                // Keyword-less rules see the whole range; the per-match logic below is shared with keyword rules.
                var pathRule = _rules[ruleIndex].Rule.Path;
                if ((pathRule is not null && (path is null || !SafeIsMatch(pathRule, path)))
                    || !_rules[ruleIndex].Requirements.MayMatch(text.AsSpan(rangeStart, rangeEnd - rangeStart), out var skip))
                {
                    continue;
                }

                RunRule(ruleIndex, text, rangeStart + skip, rangeEnd, rangeStart, rangeEnd, path, candidates);
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
        finally
        {
            t_scratch = scratch;
        }
    }

    /// <summary>
    /// Turns keyword hits into per-rule windows. A bounded rule sees the line around its keyword (from the line
    /// start, at most <see cref="SecretScannerOptions.MaxLineLookBehind"/> back, to the line end, at most
    /// <see cref="SecretScannerOptions.WindowRadius"/> after the keyword): windows that begin and end at line breaks
    /// keep <c>^</c>, <c>$</c> and <c>\b</c> meaning what they mean in the whole text. A rule with an unbounded
    /// repeat (PEM blocks) sees <see cref="SecretScannerOptions.WindowRadius"/> before and
    /// <see cref="SecretScannerOptions.LongMatchWindow"/> after, also widened to line breaks. Overlapping windows of
    /// one rule merge, so each character is matched at most once per rule.
    /// </summary>
    private void CollectWindows(string text, int rangeStart, int rangeEnd, string? path, ScanScratch scratch)
    {
        var lineStart = -1;
        var lineEnd = -1;
        // One memo per call site: dense keyword hits (a keyword repeated along one long line) would otherwise search
        // the same line-break-free span again for every hit.
        var hitLineMemo = default(LineEndMemo);
        var longLineMemo = default(LineEndMemo);
        var crossLineMemo = default(LineEndMemo);
        foreach (var hit in scratch.Hits)
        {
            var at = rangeStart + hit.Position;
            var keywordEnd = at + _keywords!.Keywords[hit.Keyword].Length;
            var assignment = (KeywordAssignment)(-1); // read on first need, once per hit for all its rules
            if (at < lineStart || keywordEnd > lineEnd)
            {
                lineStart = LineStart(text, at, Math.Max(rangeStart, at - _options.MaxLineLookBehind));
                lineEnd = LineEnd(text, keywordEnd, (int)Math.Min(rangeEnd, (long)keywordEnd + _options.WindowRadius), ref hitLineMemo);
            }

            foreach (var ruleIndex in _keywordRules[hit.Keyword])
            {
                var state = scratch.RuleState[ruleIndex];
                if (state == ScanScratch.Untouched)
                {
                    var pathRule = _rules[ruleIndex].Rule.Path;
                    state = pathRule is not null && (path is null || !SafeIsMatch(pathRule, path)) ? ScanScratch.Disabled : ScanScratch.NoWindow;
                    scratch.RuleState[ruleIndex] = state;
                }

                if (state == ScanScratch.Disabled)
                {
                    continue;
                }

                int start;
                int end;
                var requirements = _rules[ruleIndex].Requirements;
                var reach = requirements.Reach;
                var matchChars = requirements.MaxLength; // int.MaxValue when unbounded
                if (reach == RuleReach.Line && matchChars <= _options.MaxLineLookBehind)
                {
                    start = lineStart;
                    end = lineEnd;
                }
                else if (reach == RuleReach.Line)
                {
                    // A long single-line token (JWT, base64 key): the window must hold a whole match on either side;
                    // an unbounded one runs to the end of its line (windows on one line merge, so a long line is
                    // still matched once per rule).
                    start = LongLineStart(text, at, Math.Max(rangeStart, at - Math.Min(matchChars, _options.LongMatchWindow)), lineStart, rangeStart);
                    var endLimit = (int)Math.Min(rangeEnd, (long)keywordEnd + matchChars);
                    end = endLimit > lineEnd && text[lineEnd] == '\n'
                        ? lineEnd // the hit's line ends there, inside this limit: the search below would find the same break
                        : LineEnd(text, keywordEnd, endLimit, ref longLineMemo);
                }
                else
                {
                    // Matches may cross lines: reach back and ahead by the longest match (bounded by the options),
                    // then widen to line breaks.
                    var before = reach == RuleReach.Unbounded ? _options.WindowRadius : Math.Min(matchChars, _options.LongMatchWindow);
                    var after = reach == RuleReach.Unbounded ? _options.LongMatchWindow : Math.Min(matchChars, _options.LongMatchWindow);
                    var from = Math.Max(rangeStart, at - before);
                    start = LineStart(text, from, Math.Max(rangeStart, from - _options.MaxLineLookBehind));
                    var to = (int)Math.Min(rangeEnd, (long)keywordEnd + after);
                    end = LineEnd(text, to, (int)Math.Min(rangeEnd, (long)to + _options.MaxLineLookBehind), ref crossLineMemo);
                }

                // A hit not followed by the assignment the rule needs still shapes the window (so windows, and with
                // them every regex run, stay exactly what they were) but does not make it worth running.
                var needed = _rules[ruleIndex].Rule.KeywordAssignment;
                if (needed != KeywordAssignment.None && assignment < 0)
                {
                    assignment = AssignmentAfter(text, keywordEnd, rangeEnd);
                }

                var live = needed == KeywordAssignment.None || assignment >= needed;
                if (live && _rules[ruleIndex].Gate is { } gate)
                {
                    live = GateAllows(ruleIndex, gate, text, at, keywordEnd, end, rangeEnd, path, scratch);
                }

                if (_rules[ruleIndex].KeywordAnchor is { } anchor)
                {
                    // Only the positions from which a match could reach this keyword are start candidates.
                    scratch.AddAnchoredWindow(ruleIndex, Math.Max(start, at - anchor), at, end, live);
                }
                else
                {
                    scratch.AddWindow(ruleIndex, start, end, live);
                }
            }
        }
    }

    /// <summary>
    /// Asks a rule's <see cref="HitGate"/> about one keyword hit. When the gate knows the secret the match would have,
    /// the checks that depend on the secret alone decide too (memoized per rule: the hits of one assignment share it).
    /// </summary>
    private bool GateAllows(int ruleIndex, HitGate gate, string text, int at, int keywordEnd, int lineEnd, int rangeEnd, string? path, ScanScratch scratch)
    {
        var verdict = gate.Check(text, at, keywordEnd, lineEnd, rangeEnd, out var secretStart, out var secretLength);
        if (verdict != GateVerdict.Secret)
        {
            return verdict == GateVerdict.Live;
        }

        if (scratch.GateMemoStart[ruleIndex] == secretStart && scratch.GateMemoLength[ruleIndex] == secretLength)
        {
            return scratch.GateMemoReports[ruleIndex];
        }

        var reports = SecretMayReport(_rules[ruleIndex], text.AsSpan(secretStart, secretLength), path);
        scratch.GateMemoStart[ruleIndex] = secretStart;
        scratch.GateMemoLength[ruleIndex] = secretLength;
        scratch.GateMemoReports[ruleIndex] = reports;
        return reports;
    }

    /// <summary>
    /// False when <see cref="AcceptMatch"/> would drop any match whose secret is <paramref name="secret"/>, whatever the
    /// rest of the match: the entropy gate, the placeholder filter, the validator, and the allowlists (or parts of
    /// them) that look only at the secret or the path. Allowlist parts that look at the match or the line are taken
    /// as not allowing, so this never drops what <see cref="AcceptMatch"/> would keep.
    /// </summary>
    private static bool SecretMayReport(RuleRuntime runtime, ReadOnlySpan<char> secret, string? path)
    {
        var rule = runtime.Rule;
        if ((rule.Entropy is { } minimum && ShannonEntropy.Compute(secret) <= minimum)
            || (rule.Category == FindingCategory.Secret && PlaceholderFilter.IsPlaceholder(secret))
            || (rule.Validator is not null && !SecretValidators.Validate(rule.Validator, secret)))
        {
            return false;
        }

        foreach (var allowlist in runtime.Allowlists)
        {
            if (AllowsBySecret(allowlist, secret, path))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when <see cref="IsAllowed"/> allows every match with this secret by this allowlist.</summary>
    private static bool AllowsBySecret(RuleAllowlist allowlist, ReadOnlySpan<char> secret, string? path)
    {
        var hasRegex = allowlist.Regexes.Count > 0;
        var hasStop = allowlist.StopWords.Count > 0;
        var hasPath = allowlist.Paths.Count > 0;
        if (!hasRegex && !hasStop && !hasPath)
        {
            return false;
        }

        // A regex part aimed at the match or the line is unknown here: it counts as not hitting.
        var regexKnown = !hasRegex || allowlist.RegexTarget == AllowlistTarget.Secret;
        var regexHit = hasRegex && regexKnown && AnyMatches(allowlist.Regexes, secret);
        var stopHit = ContainsStopWord(allowlist.StopWords, secret);
        var pathHit = hasPath && path is not null && AnyMatches(allowlist.Paths, path);

        return allowlist.Condition == AllowlistCondition.Or
            ? regexHit || stopHit || pathHit
            : regexKnown && (!hasRegex || regexHit) && (!hasStop || stopHit) && (!hasPath || pathHit);
    }

    /// <summary>Longest run of identifier, quote, blank characters read around an operator before the check gives
    /// up and lets the window run (a cap on the work per hit; the generic rules allow at most ~30).</summary>
    private const int MaxAssignmentScan = 64;

    /// <summary>
    /// The strongest <see cref="KeywordAssignment"/> that the text after a keyword ending at <paramref name="at"/>
    /// satisfies: identifier characters, quote or bracket characters, blanks, then <c>:</c> or <c>=</c>
    /// (<see cref="KeywordAssignment.Operator"/>); then optionally <c>=</c> or <c>&gt;</c>, blanks, a string prefix
    /// letter and a quote (<see cref="KeywordAssignment.Quoted"/>). The sets are disjoint, so reading each part
    /// greedily accepts whatever a rule's regex could match there. A run longer than the cap counts as satisfied.
    /// </summary>
    internal static KeywordAssignment AssignmentAfter(string text, int at, int limit)
    {
        var i = at;
        var cap = (int)Math.Min(limit, (long)at + MaxAssignmentScan);
        while (i < cap && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '.' or '-'))
        {
            i++;
        }

        while (i < cap && text[i] is '"' or '\'' or ']')
        {
            i++;
        }

        while (i < cap && text[i] is ' ' or '\t')
        {
            i++;
        }

        if (i >= cap)
        {
            return i < limit ? KeywordAssignment.Quoted : KeywordAssignment.None;
        }

        if (text[i] is not (':' or '='))
        {
            return KeywordAssignment.None;
        }

        i++;
        if (i < limit && text[i] is '=' or '>')
        {
            i++;
        }

        cap = (int)Math.Min(limit, (long)i + MaxAssignmentScan);
        while (i < cap && text[i] is ' ' or '\t')
        {
            i++;
        }

        if (i >= cap)
        {
            return i < limit ? KeywordAssignment.Quoted : KeywordAssignment.Operator;
        }

        if (text[i] is '@' or 'r' or 'b' or 'u' or 'R' or 'B' or 'U')
        {
            i++;
        }

        return i < limit && text[i] is '"' or '\'' or '`' ? KeywordAssignment.Quoted : KeywordAssignment.Operator;
    }

    /// <summary>
    /// <see cref="LineStart"/>(<paramref name="text"/>, <paramref name="at"/>, <paramref name="limit"/>) for a hit whose
    /// line start was already found as <paramref name="lineStart"/> with a nearer limit: [<paramref name="lineStart"/>,
    /// <paramref name="at"/>) holds no line break, so the answer is known without a search when the limit lies inside
    /// that span or when the character before it is the line break. Most long-line rules' hits take one of these.
    /// </summary>
    private static int LongLineStart(string text, int at, int limit, int lineStart, int rangeStart)
    {
        if (limit >= lineStart)
        {
            return limit;
        }

        return lineStart > rangeStart && text[lineStart - 1] == '\n' ? lineStart : LineStart(text, at, limit);
    }

    /// <summary>Start of the line holding <paramref name="at"/>, searching back no further than <paramref name="limit"/>.</summary>
    private static int LineStart(string text, int at, int limit)
    {
        var newline = text.AsSpan(limit, at - limit).LastIndexOf('\n');
        return newline < 0 ? limit : limit + newline + 1;
    }

    /// <summary>End (the newline's offset) of the line holding <paramref name="at"/>, searching up to <paramref name="limit"/>.</summary>
    private static int LineEnd(string text, int at, int limit, ref LineEndMemo memo)
    {
        if (at >= limit)
        {
            return Math.Max(at, limit);
        }

        if (memo.Searched && at >= memo.From && at <= memo.Result)
        {
            if (memo.Result < memo.Limit)
            {
                // The first line break at or after memo.From is at memo.Result, so it is also the first one after at.
                return Math.Min(memo.Result, limit);
            }

            if (limit <= memo.Limit)
            {
                return limit; // [memo.From, memo.Limit) holds no line break
            }

            // Only the part beyond what was already searched is new.
            var further = text.AsSpan(memo.Limit, limit - memo.Limit).IndexOf('\n');
            var result = further < 0 ? limit : memo.Limit + further;
            memo = new LineEndMemo(memo.From, limit, result);
            return result;
        }

        var newline = text.AsSpan(at, limit - at).IndexOf('\n');
        var end = newline < 0 ? limit : at + newline;
        memo = new LineEndMemo(at, limit, end);
        return end;
    }

    /// <summary>The last line-end search of one call site: [<see cref="From"/>, <see cref="Limit"/>) was searched and
    /// <see cref="Result"/> is the first line break in it, or <see cref="Limit"/> when there is none.</summary>
    private readonly record struct LineEndMemo(int From, int Limit, int Result)
    {
        public bool Searched => Limit > From;
    }

    private void RunRule(int ruleIndex, string text, int start, int end, int rangeStart, int rangeEnd, string? path, List<Candidate> candidates)
    {
        var runtime = _rules[ruleIndex];
        var before = candidates.Count;
        try
        {
            _ = RunRegex(runtime.CurrentRegex, ruleIndex, text, start, end, int.MaxValue, rangeStart, rangeEnd, path, candidates);
        }
        catch (RegexMatchTimeoutException)
        {
            // A vetted built-in pattern backtracked past its budget on this input: switch the rule to the
            // linear-time engine for good and redo this window, so the scan stays bounded and complete.
            candidates.RemoveRange(before, candidates.Count - before);
            runtime.SwitchToLinear();
            _ = RunRegex(runtime.CurrentRegex, ruleIndex, text, start, end, int.MaxValue, rangeStart, rangeEnd, path, candidates);
        }
    }

    /// <summary>
    /// Runs a <see cref="SecretRule.KeywordAnchor"/> rule: the <c>\G</c>-anchored form of its regex is tried at each
    /// start position in [<paramref name="from"/>, <paramref name="to"/>] only, so a failing line costs a few
    /// anchored attempts that mostly die on the first character, instead of a backtracking search from every
    /// position. Positions inside an earlier match of the rule are skipped, as a left-to-right search would.
    /// </summary>
    private void RunAnchored(int ruleIndex, string text, int from, int to, int end, int rangeStart, int rangeEnd, string? path, ScanScratch scratch)
    {
        var runtime = _rules[ruleIndex];
        var candidates = scratch.Candidates;
        var first = Math.Max(from, scratch.MatchFloor[ruleIndex]);
        var anchored = runtime.AnchoredRegex;
        if (anchored is null)
        {
            // Linear engine (no \G): search from the first candidate position, keeping only matches that start
            // in this window's candidate range (later ones belong to later windows).
            scratch.MatchFloor[ruleIndex] = RunRegex(runtime.CurrentRegex, ruleIndex, text, first, end, to, rangeStart, rangeEnd, path, candidates);
            return;
        }

        var group = runtime.AnchorGroup;
        var step = runtime.KeywordAnchor!.Value + 1;
        var before = candidates.Count;
        try
        {
            // One call tries the K + 1 start positions p..p+K inside the engine (the lazy .{0,K}? prefix); the
            // leftmost real match is the anchor group.
            var p = first;
            while (p <= to && p < end)
            {
                var match = anchored.Match(text, p, end - p);
                if (!match.Success)
                {
                    p += step;
                    continue;
                }

                var found = match.Groups[group];
                if (found.Index > to)
                {
                    break; // a later window of this rule owns that start position
                }

                var matchEnd = found.Index + found.Length;
                scratch.MatchFloor[ruleIndex] = matchEnd;
                AcceptMatch(runtime, ruleIndex, text, match, found.Index, found.Length, rangeStart, rangeEnd, path, candidates);
                p = Math.Max(matchEnd, found.Index + 1);
            }
        }
        catch (RegexMatchTimeoutException)
        {
            candidates.RemoveRange(before, candidates.Count - before);
            runtime.SwitchToLinear();
            scratch.MatchFloor[ruleIndex] = RunRegex(runtime.CurrentRegex, ruleIndex, text, first, end, to, rangeStart, rangeEnd, path, candidates);
        }
    }

    /// <summary>Searches [start, end) for matches starting at or before <paramref name="maxStart"/>; returns the end
    /// of the last such match (or <paramref name="start"/>).</summary>
    private int RunRegex(Regex regex, int ruleIndex, string text, int start, int end, int maxStart, int rangeStart, int rangeEnd, string? path, List<Candidate> candidates)
    {
        var runtime = _rules[ruleIndex];
        var lastEnd = start;
        for (var match = regex.Match(text, start, end - start); match.Success && match.Index <= maxStart; match = match.NextMatch())
        {
            lastEnd = match.Index + match.Length;
            AcceptMatch(runtime, ruleIndex, text, match, match.Index, match.Length, rangeStart, rangeEnd, path, candidates);
        }

        return lastEnd;
    }

    /// <summary>Passes one regex match through the entropy gate, placeholder filter, validator and allowlists.</summary>
    private static void AcceptMatch(RuleRuntime runtime, int ruleIndex, string text, Match match, int matchStart, int matchLength, int rangeStart, int rangeEnd, string? path, List<Candidate> candidates)
    {
        var rule = runtime.Rule;
        if (!TryGetSecret(rule, match, matchStart, matchLength, out var secretStart, out var secretLength))
        {
            return;
        }

        var secret = text.AsSpan(secretStart, secretLength);
        if (rule.Entropy is { } minimum && ShannonEntropy.Compute(secret) <= minimum)
        {
            return;
        }

        if (rule.Category == FindingCategory.Secret && PlaceholderFilter.IsPlaceholder(secret))
        {
            return;
        }

        if (rule.Validator is not null && !SecretValidators.Validate(rule.Validator, secret))
        {
            return;
        }

        if (runtime.Allowlists.Length > 0 && IsAllowed(runtime.Allowlists, text, matchStart, matchLength, secretStart, secretLength, rangeStart, rangeEnd, path))
        {
            return;
        }

        candidates.Add(new Candidate(ruleIndex, secretStart, secretLength));
    }

    private static bool TryGetSecret(SecretRule rule, Match match, int matchStart, int matchLength, out int start, out int length)
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

        start = matchStart;
        length = matchLength;
        return length > 0;
    }

    private static bool IsAllowed(RuleAllowlist[] allowlists, string text, int matchStart, int matchLength, int secretStart, int secretLength, int rangeStart, int rangeEnd, string? path)
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
                    AllowlistTarget.Match => text.AsSpan(matchStart, matchLength),
                    AllowlistTarget.Line => LineAround(text, matchStart, matchStart + matchLength, rangeStart, rangeEnd),
                    _ => secret,
                };
                regexHit = AnyMatches(allowlist.Regexes, target);
            }

            var stopHit = hasStop && ContainsStopWord(allowlist.StopWords, secret);
            var pathHit = hasPath && path is not null && AnyMatches(allowlist.Paths, path);

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

    private static bool AnyMatches(IReadOnlyList<Regex> regexes, ReadOnlySpan<char> input)
    {
        foreach (var regex in regexes)
        {
            if (SafeIsMatch(regex, input))
            {
                return true;
            }
        }
        return false;
    }

    private static bool ContainsStopWord(IReadOnlyList<string> stopWords, ReadOnlySpan<char> secret)
    {
        foreach (var stopWord in stopWords)
        {
            if (secret.Contains(stopWord, StringComparison.OrdinalIgnoreCase))
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


    private readonly record struct Candidate(int RuleIndex, int Start, int Length);

    /// <summary>Per-rule runtime state: the allowlists that apply and, for built-in rules, the linear fallback.</summary>
    private sealed class RuleRuntime
    {
        private readonly Lazy<Regex>? _linear;
        private readonly Lazy<Regex>? _compiled;
        private readonly Lazy<Regex>? _anchored;
        private volatile bool _useLinear;

        public RuleRuntime(SecretRule rule, RuleAllowlist[] allowlists, BuiltInRegexEngine engine, bool hitGates)
        {
            Rule = rule;
            Allowlists = allowlists;
            Gate = hitGates ? HitGate.For(rule) : null;
            if (rule.IsBuiltIn && rule.NetPattern is { } pattern)
            {
                _linear = new Lazy<Regex>(() => RuleRegexFactory.CreateLinear(pattern), LazyThreadSafetyMode.ExecutionAndPublication);
                _useLinear = engine == BuiltInRegexEngine.NonBacktracking;
                if (engine == BuiltInRegexEngine.Compiled)
                {
                    _compiled = new Lazy<Regex>(() => RuleRegexFactory.CreateCompiled(pattern), LazyThreadSafetyMode.ExecutionAndPublication);
                }

                // The anchored form needs the backtracking engine (NonBacktracking has no \G). The real match is a
                // named group after the lazy start offset; with no other named group in the rule it is numbered after
                // the unnamed groups, so the rule's group map still applies (rules with named groups are not anchored).
                if (rule.KeywordAnchor is { } anchor && !rule.HasNamedGroups)
                {
                    var anchoredPattern = @"\G.{0," + anchor.ToString(CultureInfo.InvariantCulture) + "}?(?<" + AnchorGroupName + ">" + pattern + ")";
                    // Compiled whatever the engine option: these few rules run on most keyword hits of ordinary code, and
                    // compiling them on first use (~tens of ms, inside the first scan) halves their per-hit cost.
                    _anchored = new Lazy<Regex>(
                        () =>
                        {
                            var anchored = RuleRegexFactory.CreateCompiled(anchoredPattern);
                            AnchorGroup = anchored.GroupNumberFromName(AnchorGroupName);
                            return anchored;
                        },
                        LazyThreadSafetyMode.ExecutionAndPublication);
                    KeywordAnchor = anchor;
                }
            }
        }

        private const string AnchorGroupName = "airlockAnchoredMatch";

        /// <summary>The hand-written per-hit check of a built-in generic rule, or null.</summary>
        public HitGate? Gate { get; }

        /// <summary>The rule's keyword anchor when the scanner honours it (built-in rules with a regex), else null.</summary>
        public int? KeywordAnchor { get; }

        /// <summary>Number of the group holding the real match in <see cref="AnchoredRegex"/> (set when that is built).</summary>
        public int AnchorGroup { get; private set; }

        /// <summary>The \G-anchored form of the regex, or null once the rule runs on the linear engine.</summary>
        public Regex? AnchoredRegex => _useLinear || _anchored is null ? null : _anchored.Value;

        public SecretRule Rule { get; }

        public RuleAllowlist[] Allowlists { get; }

        /// <summary>Analyzed on first use (cached on the rule), so building a scanner analyzes no pattern.</summary>
        public RuleRequirements Requirements => Rule.Requirements;

        public Regex CurrentRegex => _useLinear && _linear is not null ? _linear.Value : _compiled is not null ? _compiled.Value : Rule.Regex!;

        public void SwitchToLinear()
        {
            if (_linear is null)
            {
                throw new InvalidOperationException($"Rule '{Rule.Id}' timed out without a linear fallback.");
            }

            _useLinear = true;
        }
    }

    /// <summary>Per-thread buffers of one range scan (keyword hits, windows, candidates), reused across scans so
    /// the hot path allocates nothing once warm.</summary>
    private sealed class ScanScratch
    {
        public const byte Untouched = 0;
        public const byte NoWindow = 1;
        public const byte Disabled = 2;
        private const byte Active = 3;

        private int[] _lastWindow = [];

        /// <summary>Per rule: end of its last regex match in this range (anchored rules resume after it).</summary>
        public int[] MatchFloor { get; private set; } = [];

        public List<KeywordHit> Hits { get; } = [];

        public List<RuleWindow> Windows { get; } = [];

        public List<Candidate> Candidates { get; } = [];

        public byte[] RuleState { get; private set; } = [];

        /// <summary>Per rule: the last secret span its gate returned and whether it may be reported.</summary>
        public int[] GateMemoStart { get; private set; } = [];

        public int[] GateMemoLength { get; private set; } = [];

        public bool[] GateMemoReports { get; private set; } = [];

        public void Reset(int ruleCount)
        {
            if (RuleState.Length != ruleCount)
            {
                RuleState = new byte[ruleCount];
                _lastWindow = new int[ruleCount];
                MatchFloor = new int[ruleCount];
                GateMemoStart = new int[ruleCount];
                GateMemoLength = new int[ruleCount];
                GateMemoReports = new bool[ruleCount];
            }
            else
            {
                Array.Clear(RuleState);
                Array.Clear(MatchFloor);
            }

            Array.Fill(GateMemoStart, -1);

            Hits.Clear();
            Windows.Clear();
            Candidates.Clear();
            if (Hits.Capacity > 1 << 20)
            {
                Hits.Capacity = 1024; // do not keep a huge buffer alive after one giant input
                Windows.Capacity = 1024;
            }
        }

        public void AddWindow(int ruleIndex, int start, int end, bool live)
        {
            var last = RuleState[ruleIndex] == Active ? _lastWindow[ruleIndex] : -1;
            if (last >= 0 && start <= Windows[last].End)
            {
                var window = Windows[last];
                Windows[last] = window with { End = Math.Max(window.End, end), Live = window.Live || live };
                return;
            }

            RuleState[ruleIndex] = Active;
            _lastWindow[ruleIndex] = Windows.Count;
            Windows.Add(new RuleWindow(ruleIndex, start, end, AnchorTo: -1, live));
        }

        /// <summary>Adds the start positions [<paramref name="start"/>, <paramref name="anchorTo"/>] of an anchored
        /// rule, merged with the rule's previous range when they touch.</summary>
        public void AddAnchoredWindow(int ruleIndex, int start, int anchorTo, int end, bool live)
        {
            var last = RuleState[ruleIndex] == Active ? _lastWindow[ruleIndex] : -1;
            if (last >= 0 && start <= Windows[last].AnchorTo + 1)
            {
                var window = Windows[last];
                Windows[last] = window with { AnchorTo = Math.Max(window.AnchorTo, anchorTo), End = Math.Max(window.End, end), Live = window.Live || live };
                return;
            }

            RuleState[ruleIndex] = Active;
            _lastWindow[ruleIndex] = Windows.Count;
            Windows.Add(new RuleWindow(ruleIndex, start, end, anchorTo, live));
        }
    }

    /// <summary>A span of text one rule's regex runs over; <see cref="AnchorTo"/> >= 0 marks an anchored rule's
    /// window, whose matches may only start in [<see cref="Start"/>, <see cref="AnchorTo"/>]. <see cref="Live"/> is
    /// false when none of its keyword hits is followed by the rule's <see cref="SecretRule.KeywordAssignment"/>.</summary>
    private readonly record struct RuleWindow(int RuleIndex, int Start, int End, int AnchorTo, bool Live);

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

