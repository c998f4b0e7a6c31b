using System.Buffers;
using System.IO.Hashing;
using System.Text;
using Airlock.Inspection;

namespace Airlock.ClaudeCode.Hooks;

/// <summary>
/// The secret scanner as the hook uses it: only the rules whose findings can stop a call (identifiable
/// tokens, medium and high confidence, plus their companion rules), behind a keyword prefilter.
/// </summary>
/// <remarks>
/// Loading the rule pack (TOML, 248 regexes) costs tens of milliseconds, more than the whole budget of a
/// hook call. Every built-in rule has keywords, and a rule only runs near one, so text that holds none of the
/// keywords cannot hold a finding.
/// <list type="bullet">
/// <item>Built-in rules only (no organization packs in the policy): <see cref="BuiltInRuleSelector"/> finds which
/// keywords occur and builds just those rules from the pre-parsed pack compiled into the binary. No TOML is parsed,
/// nothing is cached on disk, and a file that holds a private key builds one rule, not 248.</item>
/// <item>With the organization's packs: the keyword list is cached on disk next to the policy (keyed by a hash of
/// the embedded pack and the organization's packs, so a new build or policy never uses a stale list), and the
/// merged pack is loaded only when a keyword is present.</item>
/// </list>
/// </remarks>
public sealed class HookScanner : ITextScanner
{
    private readonly string? _cacheDirectory;
    private readonly IReadOnlyList<HookRulePack> _organizationPacks;
    private SearchValues<string>? _keywords;
    private bool _keywordsLoaded;
    private SecretScanner? _scanner;
    private BuiltInRuleSelector? _selector;
    private RulePack? _selectedPack;
    private bool _selectedPackLoaded;

    /// <param name="cacheDirectory">Where the keyword list is cached (the hook's state folder); null: no cache.</param>
    /// <param name="organizationPacks">The organization's packs from the gateway's policy, merged over the built-in pack.</param>
    public HookScanner(string? cacheDirectory, IReadOnlyList<HookRulePack>? organizationPacks = null)
    {
        _cacheDirectory = cacheDirectory;
        _organizationPacks = organizationPacks ?? [];
    }

    /// <summary>True after rules were built (the prefilter let some text through).</summary>
    public bool PackLoaded => _scanner is not null || _selectedPackLoaded;

    /// <summary>Ids of the rules built so far (for tests: a private key must not build the whole pack).</summary>
    public IReadOnlyList<string> LoadedRuleIds => (_scanner?.Pack ?? _selectedPack)?.Rules.Select(r => r.Id).ToList() ?? [];

    public void Scan(string text, List<TextMatch> results)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_organizationPacks.Count == 0)
        {
            ScanBuiltIn(text, results);
            return;
        }
        if (Keywords() is { } keywords && !text.AsSpan().ContainsAny(keywords))
        {
            return;
        }
        Scanner().Scan(text, results);
    }

    /// <summary>Built-in rules only: build the blocking rules whose keywords occur in this text, and scan with those.</summary>
    private void ScanBuiltIn(string text, List<TextMatch> results)
    {
        _selector ??= new BuiltInRuleSelector(IsBlocking);
        if (_selector.RulesFor(text) is not { } pack)
        {
            return;
        }
        if (!ReferenceEquals(pack, _selectedPack) || _scanner is null)
        {
            _selectedPack = pack;
            _selectedPackLoaded = true;
            _scanner = new SecretScanner(pack);
        }
        _scanner.Scan(text, results);
    }

    /// <summary>The rules the hook runs: blocking-capable rules of <paramref name="pack"/> and the companions they need.</summary>
    public static RulePack BlockingRules(RulePack pack)
    {
        ArgumentNullException.ThrowIfNull(pack);
        // Plain loops, no LINQ: under NativeAOT a Where/Select chain's first use starts the type loader, a measured
        // 14 % of a hook call's CPU.
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in pack.Rules)
        {
            if (!IsBlocking(rule))
            {
                continue;
            }
            keep.Add(rule.Id);
            foreach (var required in rule.Required)
            {
                keep.Add(required.Id);
            }
        }
        var drop = new List<string>(pack.Rules.Count);
        foreach (var rule in pack.Rules)
        {
            if (!keep.Contains(rule.Id))
            {
                drop.Add(rule.Id);
            }
        }
        return pack.WithoutRules(drop);
    }

    private static bool IsBlocking(SecretRule rule) =>
        rule.Category == FindingCategory.Secret && !rule.SkipReport && (rule.Identifiable || rule.Confidence >= Confidence.Medium);

    /// <summary>The same test as <see cref="IsBlocking(SecretRule)"/>, on the summary the selector picks rules by.</summary>
    private static bool IsBlocking(BuiltInRuleInfo rule) =>
        rule.Category == FindingCategory.Secret && !rule.SkipReport && (rule.Identifiable || rule.Confidence >= Confidence.Medium);

    private SecretScanner Scanner() => _scanner ??= new SecretScanner(BlockingRules(LoadPack()));

    /// <summary>The built-in pack with the organization's packs merged over it (same ids override, as on the gateway).</summary>
    private RulePack LoadPack()
    {
        var pack = RulePack.LoadBuiltIn();
        foreach (var extra in _organizationPacks)
        {
            pack = pack.Merge(RulePack.Parse(extra.Toml, extra.Name));
        }
        return pack;
    }

    /// <summary>The keyword set, or null when no prefilter is possible (then every text is scanned).</summary>
    private SearchValues<string>? Keywords()
    {
        if (_keywordsLoaded)
        {
            return _keywords;
        }
        _keywordsLoaded = true;
        var cachePath = _cacheDirectory is null ? null : Path.Combine(_cacheDirectory, $"rules-{PackHash()}.keywords");
        List<string>? keywords = null;
        if (cachePath is not null)
        {
            try
            {
                if (File.Exists(cachePath))
                {
                    // A loop, not Where/ToList: this runs on every hook call (see BlockingRules on NativeAOT and LINQ).
                    keywords = [];
                    foreach (var line in File.ReadAllLines(cachePath))
                    {
                        if (line.Length > 0)
                        {
                            keywords.Add(line);
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
        if (keywords is null || keywords.Count == 0)
        {
            var rules = Scanner().Pack.Rules;
            if (rules.Any(r => r.Keywords.Count == 0))
            {
                // A rule without keywords runs on all text: no prefilter is possible (never true for the built-in pack).
                return null;
            }
            else
            {
                keywords = rules.SelectMany(r => r.Keywords).Select(k => k.ToLowerInvariant()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                if (cachePath is not null)
                {
                    TryWrite(cachePath, keywords);
                }
            }
        }
        _keywords = SearchValues.Create(keywords.ToArray(), StringComparison.OrdinalIgnoreCase);
        return _keywords;
    }

    /// <summary>Cache key of the keyword list: the embedded pack and the organization's packs.</summary>
    private string PackHash()
    {
        // A cache key, not a security boundary: XxHash128 spares the hook loading OpenSSL (see HookPolicy.Version).
        var hash = new XxHash128();
        using (var stream = typeof(RulePack).Assembly.GetManifestResourceStream(RulePack.BuiltInResourceName))
        {
            if (stream is not null)
            {
                hash.Append(stream);
            }
        }
        foreach (var pack in _organizationPacks)
        {
            hash.Append(Encoding.UTF8.GetBytes(pack.Name + "\n" + pack.Toml + "\n"));
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash())[..16];
    }

    private static void TryWrite(string path, List<string> keywords)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllText(temp, string.Join('\n', keywords) + "\n", Encoding.UTF8);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
