using System.Buffers;
using System.Globalization;

namespace Airlock.Inspection;

/// <summary>
/// Necessary conditions of a rule's regex, checked with vectorized <c>IndexOfAny</c> before the regex runs on a
/// window: the characters and literals every match must contain, in pattern order. For
/// <c>key…(?::=|=&gt;|=|:)…["'`](value)["'`]</c> that is "a ':' or '=', then a quote, then a quote": a line of
/// code that merely mentions <c>apiKey</c> fails it in a few nanoseconds, so the generic rules, whose keywords
/// occur on a large share of all code lines, stop costing a regex run per mention.
/// </summary>
/// <remarks>
/// Derived from the (translated, .NET) pattern by a small parser that only ever drops information: anything it
/// does not understand (a large or negated class, a lookaround, a backreference, an option it does not track)
/// contributes no requirement, and a pattern it cannot parse gets none at all. So the check can let a window
/// through needlessly but never rejects a window the regex would match in.
/// </remarks>
internal sealed class RuleRequirements
{
    /// <summary>Sets larger than this are not worth checking (they match almost anywhere in code).</summary>
    private const int MaxSetSize = 8;

    private const int MaxRequirements = 8;

    private readonly Requirement[] _items;

    private RuleRequirements(Requirement[] items, RuleReach reach, int maxPrefix, int maxLength)
    {
        _items = items;
        Reach = reach;
        _maxPrefix = maxPrefix;
        MaxLength = maxLength;
    }

    /// <summary>Longest possible match (int.MaxValue when unbounded or unknown).</summary>
    public int MaxLength { get; }

    /// <summary>Most characters a match can have before its first requirement; -1 when unknown or unbounded.</summary>
    private readonly int _maxPrefix;

    /// <summary>A rule without checkable requirements whose matches may be long: every window goes to the regex.</summary>
    public static RuleRequirements None { get; } = new([], RuleReach.Unbounded, -1, int.MaxValue);

    /// <summary>How far from its keyword's line a match of the rule can reach.</summary>
    public RuleReach Reach { get; }

    /// <summary>Number of requirements (for tests and diagnostics).</summary>
    public int Count => _items.Length;

    /// <summary>Analyzes a .NET pattern; never throws (an unparsable pattern gets <see cref="None"/>).</summary>
    public static RuleRequirements Analyze(string netPattern)
    {
        ArgumentNullException.ThrowIfNull(netPattern);
        try
        {
            var parser = new Parser(netPattern);
            var node = parser.ParseAll();
            // A plain loop, not Where/Take/Select: under NativeAOT a Select on another LINQ iterator is a generic
            // virtual call whose first resolution starts the runtime type loader, milliseconds of a hook call.
            var useful = new List<Requirement>(MaxRequirements);
            foreach (var candidate in node)
            {
                if (candidate.IsUseful && useful.Count < MaxRequirements)
                {
                    useful.Add(candidate.Build());
                }
            }

            var items = useful.ToArray();
            var reach = parser.UnboundedAcrossLines ? RuleReach.Unbounded : parser.CrossesLines ? RuleReach.NearbyLines : RuleReach.Line;
            var maxPrefix = items.Length > 0 && node.Count > 0 && node[0].IsUseful ? parser.FirstRequirementPrefix : -1;
            return new RuleRequirements(items, reach, maxPrefix, (int)Math.Min(int.MaxValue, parser.PatternMaxLength));
        }
        catch (FormatException)
        {
            return None;
        }
    }

    /// <summary>True when <paramref name="window"/> holds every requirement in order (the regex may match).
    /// <paramref name="skip"/> is how many leading characters cannot hold the start of a match: the first
    /// requirement's first occurrence minus the longest possible match prefix before it, moved back to just after
    /// a whitespace character so that anchors and word boundaries at the new start mean what they meant.</summary>
    public bool MayMatch(ReadOnlySpan<char> window, out int skip)
    {
        skip = 0;
        var pos = 0;
        for (var i = 0; i < _items.Length; i++)
        {
            var item = _items[i];
            var rest = window[pos..];
            var at = item.Chars is not null ? rest.IndexOfAny(item.Chars) : rest.IndexOfAny(item.Strings!);
            if (at < 0)
            {
                return false;
            }

            if (i == 0 && _maxPrefix >= 0 && at > _maxPrefix)
            {
                var lead = window[..(at - _maxPrefix)];
                var space = lead.LastIndexOfAny(' ', '\t', '\n');
                skip = space < 0 ? 0 : space + 1;
            }

            pos += at + 1;
            if (pos > window.Length)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Debug view: the requirements, e.g. <c>[:=] ["'`] ["'`]</c>.</summary>
    public override string ToString() => $"prefix<={_maxPrefix} " + string.Join(' ', _items.Select(i => i.Description));


    private sealed record Requirement(SearchValues<char>? Chars, SearchValues<string>? Strings, string Description);

    /// <summary>One requirement while parsing: a small char set or a set of literals (ordinal or ignoring case).</summary>
    private sealed class Req
    {
        public HashSet<char>? Chars { get; init; }

        public List<string>? Strings { get; init; }

        public bool IgnoreCase { get; init; }

        public bool IsUseful => (Chars is { Count: > 0 and <= MaxSetSize }) || (Strings is { Count: > 0 } && Strings.TrueForAll(s => s.Length > 0));

        /// <summary>The characters a match of this requirement can start with, or null when too many.</summary>
        public HashSet<char>? FirstChars()
        {
            if (Chars is not null)
            {
                return Chars;
            }

            var set = new HashSet<char>();
            foreach (var s in Strings!)
            {
                AddChar(set, s[0], IgnoreCase);
            }

            return set;
        }

        public Requirement Build()
        {
            if (Chars is not null)
            {
                var ordered = Chars.Order().ToArray();
                return new Requirement(SearchValues.Create(ordered), null, "[" + new string(ordered) + "]");
            }

            var comparison = IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            return new Requirement(null, SearchValues.Create([.. Strings!.Distinct()], comparison), (IgnoreCase ? "(?i)" : string.Empty) + string.Join('|', Strings!));
        }
    }

    private static void AddChar(HashSet<char> set, char c, bool ignoreCase)
    {
        set.Add(c);
        if (ignoreCase && char.IsAsciiLetter(c))
        {
            set.Add(char.ToLowerInvariant(c));
            set.Add(char.ToUpperInvariant(c));
        }
    }

    /// <summary>Recursive-descent reader of the .NET regex subset rule packs use; returns ordered requirements.</summary>
    private sealed class Parser(string pattern)
    {
        private int _pos;
        private int _newlineAtoms;

        /// <summary>Some atom can match a line break ('\n').</summary>
        public bool CrossesLines => _newlineAtoms > 0;

        private const long Unbounded = int.MaxValue;

        private int _depth;

        // Maximum match length of the construct parsed last (a "return register" beside the requirement list).
        private long _lastMaxLength;

        // True when the group parsed last was an alternation of literals (its requirement starts where it starts).
        private bool _lastWasLiteralAlternation;

        /// <summary>An unbounded repeat (<c>*</c>, <c>+</c>, <c>{n,}</c>) covers an atom that can match a line break.</summary>
        public bool UnboundedAcrossLines { get; private set; }

        /// <summary>Longest possible match of the whole pattern.</summary>
        public long PatternMaxLength { get; private set; } = Unbounded;

        /// <summary>Longest possible text before the first requirement of the top-level sequence; -1 when unknown.</summary>
        public int FirstRequirementPrefix { get; private set; } = -1;

        public List<Req> ParseAll()
        {
            var result = ParseAlternation(ignoreCase: false);
            if (_pos != pattern.Length)
            {
                throw new FormatException("unbalanced ')'");
            }

            PatternMaxLength = _lastMaxLength;

            return result;
        }

        private List<Req> ParseAlternation(bool ignoreCase)
        {
            var branches = new List<List<Req>> { ParseSequence(ref ignoreCase) };
            var maxLength = _lastMaxLength;
            var literalBranches = _literalOnlyBranches;
            var topLevel = _depth == 0;
            while (_pos < pattern.Length && pattern[_pos] == '|')
            {
                _pos++;
                branches.Add(ParseSequence(ref ignoreCase));
                maxLength = Math.Max(maxLength, _lastMaxLength);
                literalBranches &= _literalOnlyBranches;
            }

            _lastMaxLength = maxLength;
            _lastWasLiteralAlternation = false;
            if (branches.Count == 1)
            {
                return branches[0];
            }

            if (topLevel)
            {
                FirstRequirementPrefix = -1; // a top-level alternation: the first requirement has no single position
            }

            var useful = branches.Select(b => b.Where(r => r.IsUseful).ToList()).ToList();
            if (useful.Exists(b => b.Count == 0))
            {
                return [];
            }

            // Every branch is one literal: the alternation requires one of those literals.
            if (branches.TrueForAll(b => b.Count == 1 && b[0].Strings is { Count: 1 }) && branches.Select(b => b[0].IgnoreCase).Distinct().Count() == 1)
            {
                _lastWasLiteralAlternation = literalBranches;
                return [new Req { Strings = [.. branches.Select(b => b[0].Strings![0])], IgnoreCase = branches[0][0].IgnoreCase }];
            }

            var union = new HashSet<char>();
            foreach (var branch in useful)
            {
                var first = branch[0].FirstChars();
                if (first is null)
                {
                    return [];
                }

                union.UnionWith(first);
            }

            return union.Count <= MaxSetSize ? [new Req { Chars = union }] : [];
        }

        private List<Req> ParseSequence(ref bool ignoreCase)
        {
            var items = new List<Req>();
            var literal = new System.Text.StringBuilder();
            var literalIgnoreCase = ignoreCase;
            var topLevel = _depth == 0;
            long length = 0;          // max length so far
            long runStart = 0;        // max length before the pending literal run
            var prefixKnown = topLevel && FirstRequirementPrefix < 0 && !_prefixDecided;
            var allLiteral = true;

            void Flush()
            {
                if (literal.Length > 0)
                {
                    items.Add(new Req { Strings = [literal.ToString()], IgnoreCase = literalIgnoreCase });
                    literal.Clear();
                    DecidePrefix(runStart);
                }
            }

            void DecidePrefix(long before)
            {
                if (prefixKnown && items.Count > 0 && items.Exists(r => r.IsUseful))
                {
                    FirstRequirementPrefix = before < Unbounded ? (int)before : -1;
                    prefixKnown = false;
                    _prefixDecided = true;
                }
            }

            while (_pos < pattern.Length && pattern[_pos] is not ('|' or ')'))
            {
                var newlinesBefore = _newlineAtoms;
                var atom = ParseAtom(ref ignoreCase, out var literalChar);
                var atomLength = _lastMaxLength;
                var literalGroup = _lastWasLiteralAlternation;
                var (min, max) = ParseQuantifier();
                if (max == int.MaxValue && _newlineAtoms > newlinesBefore)
                {
                    UnboundedAcrossLines = true;
                }

                var itemLength = max == int.MaxValue || atomLength >= Unbounded ? Unbounded : Math.Min(Unbounded, atomLength * max);
                if (literalChar is { } c && min == 1 && max == 1)
                {
                    if (literal.Length > 0 && literalIgnoreCase != ignoreCase)
                    {
                        Flush();
                    }

                    if (literal.Length == 0)
                    {
                        runStart = length;
                    }

                    literalIgnoreCase = ignoreCase;
                    literal.Append(c);
                    length = Math.Min(Unbounded, length + itemLength);
                    continue;
                }

                Flush();
                allLiteral = false;
                var usefulBefore = items.Exists(r => r.IsUseful);
                if (min >= 1)
                {
                    items.AddRange(atom);
                }

                if (prefixKnown && !usefulBefore && items.Exists(r => r.IsUseful))
                {
                    // Only a single-character atom or a literal alternation starts exactly where its requirement does.
                    if (literalGroup || (atom.Count == 1 && atom[0].Chars is not null && atomLength == 1))
                    {
                        DecidePrefix(length);
                    }
                    else
                    {
                        prefixKnown = false;
                        _prefixDecided = true;
                    }
                }

                length = Math.Min(Unbounded, length + itemLength);
            }

            Flush();
            _lastMaxLength = length;
            _literalOnlyBranches = allLiteral;
            return items;
        }

        private bool _prefixDecided;
        private bool _literalOnlyBranches;

        private List<Req> ParseAtom(ref bool ignoreCase, out char? literalChar)
        {
            literalChar = null;
            _lastMaxLength = 1;
            _lastWasLiteralAlternation = false;
            var c = pattern[_pos];
            switch (c)
            {
                case '(':
                    return ParseGroup(ref ignoreCase);
                case '[':
                    return SetReq(ParseClass(ignoreCase));
                case '\\':
                    return ParseEscape(ignoreCase, out literalChar);
                case '.':
                    _pos++;
                    _newlineAtoms++; // conservatively: (?s) may be on
                    return [];
                case '^' or '$':
                    _pos++;
                    _lastMaxLength = 0;
                    return [];
                case '*' or '+' or '?' or '{':
                    if (c == '{' && !LooksLikeQuantifier(_pos))
                    {
                        _pos++;
                        literalChar = c;
                        return SetReq(Single(c, ignoreCase));
                    }

                    throw new FormatException("quantifier without operand");
                default:
                    _pos++;
                    literalChar = c;
                    return SetReq(Single(c, ignoreCase));
            }
        }

        private List<Req> ParseGroup(ref bool ignoreCase)
        {
            _pos++; // (
            var inner = ignoreCase;
            var zeroWidth = false;
            if (Peek('?'))
            {
                _pos++;
                if (Peek(':') || Peek('>'))
                {
                    _pos++;
                }
                else if (Peek('=') || Peek('!'))
                {
                    _pos++;
                    zeroWidth = true;
                }
                else if (Peek('<') && _pos + 1 < pattern.Length && pattern[_pos + 1] is '=' or '!')
                {
                    _pos += 2;
                    zeroWidth = true;
                }
                else if (Peek('<') || Peek('\''))
                {
                    var close = pattern[_pos] == '<' ? '>' : '\'';
                    var end = pattern.IndexOf(close, _pos + 1);
                    if (end < 0)
                    {
                        throw new FormatException("bad group name");
                    }

                    _pos = end + 1;
                }
                else
                {
                    // Inline options: (?imsn-imsn) for the rest of the enclosing group, or (?i:...) for this group.
                    var on = true;
                    var flags = inner;
                    while (_pos < pattern.Length && pattern[_pos] is not (':' or ')'))
                    {
                        switch (pattern[_pos])
                        {
                            case '-':
                                on = false;
                                break;
                            case 'i':
                                flags = on;
                                break;
                            case 'm' or 's' or 'n':
                                break;
                            default:
                                throw new FormatException("unsupported inline option");
                        }

                        _pos++;
                    }

                    if (Peek(')'))
                    {
                        _pos++;
                        ignoreCase = flags;
                        _lastMaxLength = 0;
                        return [];
                    }

                    Expect(':');
                    inner = flags;
                }
            }

            _depth++;
            var result = ParseAlternation(inner);
            _depth--;
            Expect(')');
            if (zeroWidth)
            {
                _lastMaxLength = 0;
                _lastWasLiteralAlternation = false;
                return [];
            }

            return result;
        }

        private List<Req> ParseEscape(bool ignoreCase, out char? literalChar)
        {
            literalChar = null;
            _pos++;
            if (_pos >= pattern.Length)
            {
                throw new FormatException("trailing backslash");
            }

            var e = pattern[_pos++];
            switch (e)
            {
                case 'b' or 'B' or 'A' or 'z' or 'Z' or 'G':
                    _lastMaxLength = 0;
                    return [];
                case 'd' or 'w' or 'S':
                    return [];
                case 'D' or 'W' or 's':
                    _newlineAtoms++;
                    return [];
                case 'p' or 'P':
                    SkipBraces();
                    _newlineAtoms++;
                    return [];
                case 'k':
                    var end = pattern.IndexOf('>', _pos);
                    _pos = end < 0 ? throw new FormatException("bad \\k") : end + 1;
                    _lastMaxLength = Unbounded;
                    return [];
                case >= '1' and <= '9':
                    while (_pos < pattern.Length && char.IsAsciiDigit(pattern[_pos]))
                    {
                        _pos++;
                    }

                    _lastMaxLength = Unbounded;
                    return [];
                default:
                    var c = EscapedChar(e);
                    literalChar = c;
                    if (c == '\n')
                    {
                        _newlineAtoms++;
                    }

                    return SetReq(Single(c, ignoreCase));
            }
        }

        private char EscapedChar(char e)
        {
            switch (e)
            {
                case 't':
                    return '\t';
                case 'n':
                    return '\n';
                case 'r':
                    return '\r';
                case 'f':
                    return '\f';
                case 'v':
                    return '\v';
                case 'e':
                    return '\u001B';
                case 'a':
                    return '\a';
                case '0':
                    return '\0';
                case 'x':
                    return HexChar(2);
                case 'u':
                    return HexChar(4);
                case 'c':
                    throw new FormatException("control escape");
                default:
                    if (char.IsAsciiLetterOrDigit(e))
                    {
                        throw new FormatException("unknown escape");
                    }

                    return e;
            }
        }

        private char HexChar(int digits)
        {
            if (_pos + digits > pattern.Length)
            {
                throw new FormatException("short hex escape");
            }

            var value = int.Parse(pattern.AsSpan(_pos, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            _pos += digits;
            return (char)value;
        }

        /// <summary>Parses a character class; returns its members, or null when it is negated or large.</summary>
        private HashSet<char>? ParseClass(bool ignoreCase)
        {
            _pos++; // [
            var negated = Peek('^');
            if (negated)
            {
                _pos++;
            }

            var set = new HashSet<char>();
            var large = negated;
            var first = true;
            var hasNewline = false;
            while (true)
            {
                if (_pos >= pattern.Length)
                {
                    throw new FormatException("unterminated class");
                }

                var c = pattern[_pos];
                if (c == ']' && !first)
                {
                    _pos++;
                    break;
                }

                first = false;
                if (c == '[')
                {
                    throw new FormatException("nested class");
                }

                char lo;
                if (c == '\\')
                {
                    _pos++;
                    var e = pattern[_pos++];
                    if (e is 'd' or 'D' or 'w' or 'W' or 's' or 'S')
                    {
                        hasNewline |= e is 'D' or 'W' or 's';
                        large = true;
                        continue;
                    }

                    if (e is 'p' or 'P')
                    {
                        SkipBraces();
                        hasNewline = true;
                        large = true;
                        continue;
                    }

                    lo = e == 'b' ? '\b' : EscapedChar(e);
                }
                else
                {
                    _pos++;
                    lo = c;
                }

                var hi = lo;
                if (Peek('-') && _pos + 1 < pattern.Length && pattern[_pos + 1] != ']')
                {
                    _pos++;
                    if (Peek('['))
                    {
                        throw new FormatException("class subtraction");
                    }

                    var h = pattern[_pos++];
                    hi = h == '\\' ? EscapedChar(pattern[_pos++]) : h;
                }

                hasNewline |= lo <= '\n' && '\n' <= hi;
                if (hi - lo > MaxSetSize)
                {
                    large = true;
                    continue;
                }

                for (var ch = lo; ch <= hi; ch++)
                {
                    AddChar(set, ch, ignoreCase);
                }
            }

            // A negated class matches a line break unless it lists one.
            if (negated ? !hasNewline : hasNewline)
            {
                _newlineAtoms++;
            }

            return large || set.Count > MaxSetSize ? null : set;
        }

        private (int Min, int Max) ParseQuantifier()
        {
            if (_pos >= pattern.Length)
            {
                return (1, 1);
            }

            int min;
            int max;
            switch (pattern[_pos])
            {
                case '*':
                    (min, max) = (0, int.MaxValue);
                    _pos++;
                    break;
                case '+':
                    (min, max) = (1, int.MaxValue);
                    _pos++;
                    break;
                case '?':
                    (min, max) = (0, 1);
                    _pos++;
                    break;
                case '{' when LooksLikeQuantifier(_pos):
                    var end = pattern.IndexOf('}', _pos);
                    var body = pattern.AsSpan(_pos + 1, end - _pos - 1);
                    var comma = body.IndexOf(',');
                    min = int.Parse(comma < 0 ? body : body[..comma], CultureInfo.InvariantCulture);
                    max = comma < 0 ? min : comma == body.Length - 1 ? int.MaxValue : int.Parse(body[(comma + 1)..], CultureInfo.InvariantCulture);
                    _pos = end + 1;
                    break;
                default:
                    return (1, 1);
            }

            if (Peek('?'))
            {
                _pos++; // lazy
            }

            return (min, max);
        }

        private bool LooksLikeQuantifier(int at)
        {
            var end = pattern.IndexOf('}', at);
            if (end < 0 || end == at + 1)
            {
                return false;
            }

            var body = pattern.AsSpan(at + 1, end - at - 1);
            var comma = body.IndexOf(',');
            return comma < 0
                ? body.IndexOfAnyExceptInRange('0', '9') < 0
                : comma > 0 && body[..comma].IndexOfAnyExceptInRange('0', '9') < 0 && body[(comma + 1)..].IndexOfAnyExceptInRange('0', '9') < 0;
        }

        private void SkipBraces()
        {
            if (Peek('{'))
            {
                var end = pattern.IndexOf('}', _pos);
                _pos = end < 0 ? throw new FormatException("bad \\p") : end + 1;
            }
            else
            {
                _pos++;
            }
        }

        private static HashSet<char> Single(char c, bool ignoreCase)
        {
            var set = new HashSet<char>();
            AddChar(set, c, ignoreCase);
            return set;
        }

        private static List<Req> SetReq(HashSet<char>? set) => set is null ? [] : [new Req { Chars = set }];

        private bool Peek(char c) => _pos < pattern.Length && pattern[_pos] == c;

        private void Expect(char c)
        {
            if (!Peek(c))
            {
                throw new FormatException($"expected '{c}'");
            }

            _pos++;
        }
    }
}

/// <summary>How far a rule's matches can extend from the line holding its keyword.</summary>
internal enum RuleReach
{
    /// <summary>No atom matches a line break: the match lies within the keyword's line.</summary>
    Line,

    /// <summary>Some atom matches a line break but only bounded repeats do: a few lines around the keyword.</summary>
    NearbyLines,

    /// <summary>An unbounded repeat spans lines (PEM blocks), or the pattern could not be analyzed.</summary>
    Unbounded,
}
