using System.Text.RegularExpressions;

namespace Airlock.Inspection;

/// <summary>
/// One detection rule, as read from a gitleaks-format TOML pack plus Airlock's extensions
/// (<c>category</c>, <c>confidence</c>, <c>identifiable</c>, <c>validate</c>). Immutable once loaded.
/// </summary>
public sealed class SecretRule
{
    private readonly int[] _goGroupToNet;
    private readonly DeferredRegex? _regex;
    private RuleRequirements? _requirements;

    internal SecretRule(
        string id,
        string description,
        FindingCategory category,
        Confidence confidence,
        bool identifiable,
        IReadOnlyList<string> keywords,
        IReadOnlyList<string> tags,
        int secretGroup,
        double? entropy,
        DeferredRegex? regex,
        Regex? path,
        IReadOnlyList<RuleAllowlist> allowlists,
        string? validator,
        IReadOnlyList<RequiredRule> required,
        bool skipReport,
        string source,
        bool isBuiltIn,
        int[] goGroupToNet,
        bool hasUnboundedRepeat)
    {
        Id = id;
        Description = description;
        Category = category;
        Confidence = confidence;
        Identifiable = identifiable;
        Keywords = keywords;
        Tags = tags;
        SecretGroup = secretGroup;
        Entropy = entropy;
        _regex = regex;
        Path = path;
        Allowlists = allowlists;
        Validator = validator;
        Required = required;
        SkipReport = skipReport;
        Source = source;
        IsBuiltIn = isBuiltIn;
        _goGroupToNet = goGroupToNet;
        HasUnboundedRepeat = hasUnboundedRepeat;
    }

    /// <summary>Stable rule id (kebab-case), used in findings, policy and audit.</summary>
    public string Id { get; }

    public string Description { get; }

    public FindingCategory Category { get; }

    public Confidence Confidence { get; }

    /// <summary>True when a match is recognisable on its own (unique prefix, checksum, PEM armor).</summary>
    public bool Identifiable { get; }

    /// <summary>Lower-cased keywords; the rule's regex only runs when one of them occurs in the text.</summary>
    public IReadOnlyList<string> Keywords { get; }

    public IReadOnlyList<string> Tags { get; }

    /// <summary>Go-numbered capture group holding the secret; 0 means "first non-empty group, else the whole match".</summary>
    public int SecretGroup { get; }

    /// <summary>Minimum Shannon entropy (bits per char) of the secret; matches at or below it are dropped.</summary>
    public double? Entropy { get; }

    /// <summary>The compiled .NET regex (translated from Go syntax); null for path-only rules.</summary>
    public Regex? Regex => _regex?.Value;

    /// <summary>The translated (.NET) pattern, without building the regex; null for path-only rules.</summary>
    internal string? NetPattern => _regex?.Pattern;

    /// <summary>True once <see cref="Regex"/> was built (for tests of deferred building).</summary>
    internal bool RegexBuilt => _regex?.IsBuilt ?? false;

    /// <summary>Optional file-path regex (gitleaks <c>path</c>); such rules only fire when the scanned text has a path.</summary>
    public Regex? Path { get; }

    /// <summary>Rule allowlists (<c>[[rules.allowlists]]</c> and the older <c>[rules.allowlist]</c>).</summary>
    public IReadOnlyList<RuleAllowlist> Allowlists { get; }

    /// <summary>Name of a validator (<c>github-checksum</c>, <c>npm-checksum</c>, <c>jwt</c>, <c>luhn</c>,
    /// <c>base64-json</c>); a match whose secret fails it is dropped.</summary>
    public string? Validator { get; }

    /// <summary>Companion rules (gitleaks <c>[[rules.required]]</c>) that must match nearby for this rule to report.</summary>
    public IReadOnlyList<RequiredRule> Required { get; }

    /// <summary>gitleaks <c>skipReport</c>: the rule only serves as a companion and never reports on its own.</summary>
    public bool SkipReport { get; }

    /// <summary>
    /// Engine option (<c>keywordAnchor</c> in TOML, built-in rules only): every match starts at most this many
    /// characters before an occurrence of one of the rule's keywords inside it (the keyword opens the assignment,
    /// e.g. <c>encryption_key = "…"</c>). The scanner then tries the regex only at those start positions instead
    /// of at every position of the line. Null: no such guarantee, the regex searches the whole window.
    /// </summary>
    public int? KeywordAnchor { get; internal init; }

    /// <summary>
    /// Engine option (<c>keywordAssignment</c> in TOML): every match holds an occurrence of one of the rule's keywords
    /// that is followed by an assignment (see <see cref="Inspection.KeywordAssignment"/>). The scanner then skips the
    /// regex on windows none of whose keyword hits is followed by one, which a cheap forward check per hit decides.
    /// </summary>
    public KeywordAssignment KeywordAssignment { get; internal init; }

    /// <summary>True when the pattern has named groups (.NET numbers them after the unnamed ones).</summary>
    internal bool HasNamedGroups { get; init; }

    /// <summary>Source name the rule came from (file name or <c>built-in</c>).</summary>
    public string Source { get; }

    /// <summary>True for rules from the vetted built-in pack (backtracking regex with a match timeout and a linear-time
    /// fallback); organization rules use the linear-time NonBacktracking engine.</summary>
    public bool IsBuiltIn { get; }

    /// <summary>True when the pattern has <c>*</c>, <c>+</c> or <c>{n,}</c>: long texts get a wider scan window.</summary>
    internal bool HasUnboundedRepeat { get; }

    /// <summary>Maps a Go group number to the .NET group number (.NET numbers named groups last).</summary>
    internal int NetGroupNumber(int goGroup) => goGroup == 0 ? 0 : _goGroupToNet[goGroup];

    /// <summary>Necessary conditions of the regex, checked before it runs on a window (computed once, on first use).</summary>
    internal RuleRequirements Requirements => _requirements ??= NetPattern is null ? RuleRequirements.None : RuleRequirements.Analyze(NetPattern);

    /// <summary>Number of capture groups in the Go pattern.</summary>
    internal int GroupCount => _goGroupToNet.Length - 1;
}

/// <summary>
/// What follows a rule's keyword in every match (<c>keywordAssignment</c>), checked per keyword hit before any regex
/// runs. After the keyword: identifier characters (<c>[A-Za-z0-9_.-]</c>), then quote or bracket characters
/// (<c>"'\]</c>), then blanks, then the operator. Each part is read greedily; the sets are disjoint, so the check
/// accepts every text the rule's regex can match there (it is a necessary condition, never a filter of its own).
/// </summary>
public enum KeywordAssignment
{
    /// <summary>No promise: the rule's windows always run.</summary>
    None,

    /// <summary>The keyword is followed by an assignment operator starting with <c>:</c> or <c>=</c>
    /// (<c>=</c>, <c>:</c>, <c>:=</c>, <c>=&gt;</c>).</summary>
    Operator,

    /// <summary>As <see cref="Operator"/>, and the operator (one more <c>=</c> or <c>&gt;</c> allowed) is followed by
    /// blanks, an optional string prefix letter (<c>@rbuRBU</c>) and a quote (<c>"</c>, <c>'</c> or a backquote).</summary>
    Quoted,
}

/// <summary>How the criteria of an allowlist combine (gitleaks <c>condition</c>).</summary>
public enum AllowlistCondition
{
    /// <summary>Any one criterion allows the finding (default).</summary>
    Or,

    /// <summary>Every criterion that is set must hold.</summary>
    And,
}

/// <summary>What an allowlist regex is matched against (gitleaks <c>regexTarget</c>).</summary>
public enum AllowlistTarget
{
    /// <summary>The secret group (default).</summary>
    Secret,

    /// <summary>The whole regex match.</summary>
    Match,

    /// <summary>The line(s) holding the match.</summary>
    Line,
}

/// <summary>An allowlist: findings it covers are dropped. Used per rule and globally.</summary>
public sealed class RuleAllowlist
{
    internal RuleAllowlist(
        string? description,
        AllowlistCondition condition,
        AllowlistTarget regexTarget,
        IReadOnlyList<Regex> regexes,
        IReadOnlyList<string> stopWords,
        IReadOnlyList<Regex> paths,
        IReadOnlyList<string> targetRules)
    {
        Description = description;
        Condition = condition;
        RegexTarget = regexTarget;
        Regexes = regexes;
        StopWords = stopWords;
        Paths = paths;
        TargetRules = targetRules;
    }

    public string? Description { get; }

    public AllowlistCondition Condition { get; }

    public AllowlistTarget RegexTarget { get; }

    public IReadOnlyList<Regex> Regexes { get; }

    /// <summary>Lower-cased stop words: a secret containing one is allowed.</summary>
    public IReadOnlyList<string> StopWords { get; }

    public IReadOnlyList<Regex> Paths { get; }

    /// <summary>For global allowlists: the rule ids it applies to (empty = every rule).</summary>
    public IReadOnlyList<string> TargetRules { get; }

    internal bool AppliesTo(string ruleId)
    {
        if (TargetRules.Count == 0)
        {
            return true;
        }

        foreach (var target in TargetRules)
        {
            if (string.Equals(target, ruleId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>A companion rule (gitleaks <c>[[rules.required]]</c>): its match must lie within the given
/// distance of the primary match. Null distances mean "anywhere in the same text".</summary>
/// <param name="Id">Id of the companion rule.</param>
/// <param name="WithinLines">Maximum line distance between the two matches.</param>
/// <param name="WithinColumns">Maximum distance between the start columns of the two matches.</param>
public sealed record RequiredRule(string Id, int? WithinLines, int? WithinColumns);
