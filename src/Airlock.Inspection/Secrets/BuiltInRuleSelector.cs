using System.IO.Hashing;
using Tomlyn.Model;

namespace Airlock.Inspection;

/// <summary>What a caller needs to know of a built-in rule to decide whether it wants it, without building it.</summary>
/// <param name="Id">Rule id.</param>
/// <param name="Keywords">Lower-cased keywords, as <see cref="SecretRule.Keywords"/>.</param>
/// <param name="Category">As <see cref="SecretRule.Category"/>.</param>
/// <param name="Confidence">As <see cref="SecretRule.Confidence"/>.</param>
/// <param name="Identifiable">As <see cref="SecretRule.Identifiable"/>.</param>
/// <param name="SkipReport">As <see cref="SecretRule.SkipReport"/>.</param>
/// <param name="RequiredIds">Ids of the companion rules (<see cref="SecretRule.Required"/>).</param>
public sealed record BuiltInRuleInfo(
    string Id,
    IReadOnlyList<string> Keywords,
    FindingCategory Category,
    Confidence Confidence,
    bool Identifiable,
    bool SkipReport,
    IReadOnlyList<string> RequiredIds)
{
    /// <summary>The summary of a loaded rule (the fallback when the pre-parsed form is stale).</summary>
    public static BuiltInRuleInfo From(SecretRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var required = new string[rule.Required.Count];
        for (var i = 0; i < required.Length; i++)
        {
            required[i] = rule.Required[i].Id;
        }
        return new BuiltInRuleInfo(rule.Id, rule.Keywords, rule.Category, rule.Confidence, rule.Identifiable, rule.SkipReport, required);
    }
}

/// <summary>
/// The built-in pack for one text at a time: only the wanted rules whose keywords occur in the text (plus the
/// companions they require) are built, from the pre-parsed form compiled into this assembly
/// (<see cref="BuiltInRuleData"/>, generated from <c>rules/secrets.toml</c>), so a short-lived process such as
/// <c>airlock-hook</c> never parses the 113 KB TOML nor builds the ~250 rules a single file does not need.
/// </summary>
/// <remarks>
/// A rule only runs near one of its keywords (the scanner's prefilter), so a rule none of whose keywords occurs in a
/// text cannot report on it: scanning with the selected rules finds what scanning with all wanted rules finds. When
/// the embedded TOML and the pre-parsed form disagree (someone edited the TOML without regenerating; a test fails
/// too), the selector falls back to parsing the TOML: slower, never wrong. Not thread-safe (it keeps the last pack it
/// built): one selector per scanner, as <c>HookScanner</c> has.
/// </remarks>
public sealed class BuiltInRuleSelector
{
    private static readonly Lazy<bool> s_preParsedIsCurrent = new(ComputePreParsedIsCurrent);

    private readonly IReadOnlyList<BuiltInRuleInfo> _rules;
    private readonly bool _preParsed;
    private readonly bool[] _wanted;
    private readonly Dictionary<string, int> _indexById;
    private string[]? _keywords;
    private int[][]? _rulesByKeyword;
    private KeywordMatcher? _matcher;
    private string? _lastKey;
    private RulePack? _lastPack;

    /// <param name="wanted">Which rules the caller wants; the companions a wanted rule requires are added.</param>
    public BuiltInRuleSelector(Func<BuiltInRuleInfo, bool> wanted)
        : this(wanted, s_preParsedIsCurrent.Value)
    {
    }

    internal BuiltInRuleSelector(Func<BuiltInRuleInfo, bool> wanted, bool preParsed)
    {
        ArgumentNullException.ThrowIfNull(wanted);
        _preParsed = preParsed;
        _rules = preParsed ? BuiltInRuleData.Rules : FromLoadedPack();
        _indexById = new Dictionary<string, int>(_rules.Count, StringComparer.Ordinal);
        for (var i = 0; i < _rules.Count; i++)
        {
            _indexById[_rules[i].Id] = i;
        }
        _wanted = new bool[_rules.Count];
        for (var i = 0; i < _rules.Count; i++)
        {
            if (wanted(_rules[i]))
            {
                _wanted[i] = true;
                foreach (var required in _rules[i].RequiredIds)
                {
                    if (_indexById.TryGetValue(required, out var companion))
                    {
                        _wanted[companion] = true;
                    }
                }
            }
        }
    }

    /// <summary>True when this build's pre-parsed form matches its embedded TOML (the fast path is in use).</summary>
    public static bool PreParsedIsCurrent => s_preParsedIsCurrent.Value;

    /// <summary>True when rules come from the pre-parsed form rather than from parsing the TOML.</summary>
    public bool UsesPreParsedForm => _preParsed;

    /// <summary>The keywords of the wanted rules (lower case, distinct): text holding none of them needs no rule.</summary>
    public IReadOnlyList<string> Keywords
    {
        get
        {
            EnsureKeywords();
            return _keywords!;
        }
    }

    /// <summary>Ids of the rules <see cref="RulesFor"/> would build for <paramref name="text"/>, in pack order.</summary>
    public IReadOnlyList<string> RuleIdsFor(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var selected = Select(text);
        var ids = new List<string>();
        for (var i = 0; selected is not null && i < selected.Length; i++)
        {
            if (selected[i])
            {
                ids.Add(_rules[i].Id);
            }
        }
        return ids;
    }

    /// <summary>
    /// A pack of the wanted rules whose keywords occur in <paramref name="text"/> (with their companions and the
    /// pack's global allowlists), or null when none occurs. The same selection twice returns the same pack.
    /// </summary>
    public RulePack? RulesFor(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Select(text) is not { } selected)
        {
            return null;
        }
        var key = string.Create(selected.Length, selected, static (chars, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                chars[i] = s[i] ? '1' : '0';
            }
        });
        if (key == _lastKey && _lastPack is not null)
        {
            return _lastPack;
        }
        _lastPack = _preParsed ? BuildPreParsed(selected) : BuildFromLoadedPack(selected);
        _lastKey = key;
        return _lastPack;
    }

    private bool[]? Select(string text)
    {
        EnsureKeywords();
        if (_keywords!.Length == 0)
        {
            return null;
        }
        _matcher ??= new KeywordMatcher(_keywords);
        var hits = new List<KeywordHit>();
        _matcher.FindAll(text, hits);
        if (hits.Count == 0)
        {
            return null;
        }
        var selected = new bool[_rules.Count];
        var seen = new bool[_keywords.Length];
        foreach (var hit in hits)
        {
            if (seen[hit.Keyword])
            {
                continue;
            }
            seen[hit.Keyword] = true;
            foreach (var rule in _rulesByKeyword![hit.Keyword])
            {
                AddWithCompanions(rule, selected);
            }
        }
        return selected;
    }

    /// <summary>Adds a rule and, transitively, the companions it requires (a pack must hold every rule it names).</summary>
    private void AddWithCompanions(int rule, bool[] selected)
    {
        if (selected[rule])
        {
            return;
        }
        selected[rule] = true;
        foreach (var required in _rules[rule].RequiredIds)
        {
            if (_indexById.TryGetValue(required, out var companion))
            {
                AddWithCompanions(companion, selected);
            }
        }
    }

    private void EnsureKeywords()
    {
        if (_keywords is not null)
        {
            return;
        }
        var index = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var order = new List<string>();
        for (var i = 0; i < _rules.Count; i++)
        {
            if (!_wanted[i])
            {
                continue;
            }
            foreach (var keyword in _rules[i].Keywords)
            {
                if (!index.TryGetValue(keyword, out var list))
                {
                    index[keyword] = list = [];
                    order.Add(keyword);
                }
                list.Add(i);
            }
        }
        var byKeyword = new int[order.Count][];
        for (var k = 0; k < order.Count; k++)
        {
            byKeyword[k] = [.. index[order[k]]];
        }
        _rulesByKeyword = byKeyword;
        _keywords = [.. order];
    }

    private static RulePack BuildPreParsed(bool[] selected)
    {
        var document = BuiltInRuleData.Document();
        var rules = new TomlTableArray();
        for (var i = 0; i < selected.Length; i++)
        {
            if (selected[i])
            {
                rules.Add(BuiltInRuleData.Rule(i));
            }
        }
        document["rules"] = rules;
        // The subset's version names the built-in pack it came from (computed only if someone asks).
        return RulePackReader.ReadParsed(document, RulePack.BuiltInSourceName, isBuiltIn: true, () => RulePack.LoadBuiltIn().Version);
    }

    private RulePack BuildFromLoadedPack(bool[] selected)
    {
        var drop = new List<string>();
        for (var i = 0; i < selected.Length; i++)
        {
            if (!selected[i])
            {
                drop.Add(_rules[i].Id);
            }
        }
        return RulePack.LoadBuiltIn().WithoutRules(drop);
    }

    private static List<BuiltInRuleInfo> FromLoadedPack()
    {
        var rules = RulePack.LoadBuiltIn().Rules;
        var infos = new List<BuiltInRuleInfo>(rules.Count);
        foreach (var rule in rules)
        {
            infos.Add(BuiltInRuleInfo.From(rule));
        }
        return infos;
    }

    /// <summary>XxHash128 of the embedded TOML (a content fingerprint to detect a stale pre-parsed form, not a security boundary).</summary>
    internal static string EmbeddedTomlHash()
    {
        // A stack buffer, not Append(Stream): its 80 KB pooled copy buffer is fresh heap that the GC must zero, a
        // measurable part of a hook call.
        var hash = new XxHash128();
        Span<byte> buffer = stackalloc byte[8192];
        using (var stream = RulePack.OpenBuiltIn())
        {
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                hash.Append(buffer[..read]);
            }
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    private static bool ComputePreParsedIsCurrent()
    {
        try
        {
            // No RulePack.HasBuiltIn first: resource metadata lookups start reflection, opening the stream does not.
            return string.Equals(EmbeddedTomlHash(), BuiltInRuleData.SourceHash, StringComparison.Ordinal);
        }
        catch (RulePackException)
        {
            return false;
        }
    }
}
