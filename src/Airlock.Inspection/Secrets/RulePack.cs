using System.Security.Cryptography;
using System.Text;

namespace Airlock.Inspection;

/// <summary>
/// A loaded, validated set of secret rules in gitleaks' TOML format (read as is) plus Airlock's extensions.
/// Immutable; share one instance. Loading reports every problem at once through <see cref="RulePackException"/>.
/// </summary>
public sealed class RulePack
{
    /// <summary>Logical name of the embedded built-in pack (<c>rules/secrets.toml</c>).</summary>
    public const string BuiltInResourceName = "Airlock.Inspection.rules.secrets.toml";

    /// <summary>Source name used for rules of the built-in pack.</summary>
    public const string BuiltInSourceName = "built-in";

    private static readonly Lazy<RulePack> s_builtIn = new(ReadBuiltIn, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Dictionary<string, SecretRule> _byId;
    private readonly Func<string> _computeVersion;
    private string? _version;

    // version computes Version on first read: it is a SHA-256, and hashing is the one use of OpenSSL in a hook
    // process, whose loading alone costs milliseconds of each call.
    internal RulePack(IReadOnlyList<SecretRule> rules, IReadOnlyList<RuleAllowlist> globalAllowlists, Func<string> version, IReadOnlyList<string> warnings)
    {
        Rules = rules;
        GlobalAllowlists = globalAllowlists;
        _computeVersion = version;
        Warnings = warnings;
        _byId = new Dictionary<string, SecretRule>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            _byId[rule.Id] = rule;
        }
    }

    /// <summary>Every rule, in load order.</summary>
    public IReadOnlyList<SecretRule> Rules { get; }

    /// <summary>Global allowlists (<c>[allowlist]</c>, <c>[[allowlists]]</c>), each optionally limited by <c>targetRules</c>.</summary>
    public IReadOnlyList<RuleAllowlist> GlobalAllowlists { get; }

    /// <summary>Identifies the exact rule content: a SHA-256 prefix over the sources. Recorded in the audit trail.</summary>
    public string Version => _version ??= _computeVersion();

    /// <summary>Non-fatal notes, e.g. TOML keys Airlock does not use (gitleaks options it ignores) or an organization
    /// rule without keywords (it runs on all text, which is slower).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>True when this build embeds <c>rules/secrets.toml</c>.</summary>
    public static bool HasBuiltIn => typeof(RulePack).Assembly.GetManifestResourceInfo(BuiltInResourceName) is not null;

    public SecretRule? FindRule(string id) => _byId.GetValueOrDefault(id);

    /// <summary>Parses an organization pack. Its regexes run on the linear-time NonBacktracking engine.
    /// <c>[extend] useDefault = true</c> merges it over the built-in pack.</summary>
    public static RulePack Parse(string toml, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(toml);
        ArgumentNullException.ThrowIfNull(sourceName);
        return RulePackReader.Read(toml, sourceName, isBuiltIn: false, baseDirectory: null);
    }

    /// <summary>Loads an organization pack from a file; <c>[extend] path</c> is resolved relative to it.</summary>
    public static RulePack LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string toml;
        try
        {
            toml = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new RulePackException([$"{path}: cannot read rule pack: {ex.Message}"]);
        }

        return RulePackReader.Read(toml, path, isBuiltIn: false, baseDirectory: System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)));
    }

    /// <summary>The vetted built-in pack embedded from <c>rules/secrets.toml</c> (loaded once, then shared).</summary>
    public static RulePack LoadBuiltIn() => s_builtIn.Value;

    /// <summary>Returns a pack with this pack's rules overridden by <paramref name="other"/>'s rules of the same id
    /// (kept in place) and <paramref name="other"/>'s new rules appended; global allowlists are concatenated.</summary>
    public RulePack Merge(RulePack other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var rules = new List<SecretRule>(Rules.Count + other.Rules.Count);
        foreach (var rule in Rules)
        {
            rules.Add(other.FindRule(rule.Id) ?? rule);
        }

        foreach (var rule in other.Rules)
        {
            if (!_byId.ContainsKey(rule.Id))
            {
                rules.Add(rule);
            }
        }

        return new RulePack(
            rules,
            [.. GlobalAllowlists, .. other.GlobalAllowlists],
            () => ComputeVersion(Version + "+" + other.Version),
            [.. Warnings, .. other.Warnings]);
    }

    /// <summary>Returns a pack without the given rule ids (gitleaks <c>[extend] disabledRules</c>).</summary>
    public RulePack WithoutRules(IEnumerable<string> ruleIds)
    {
        ArgumentNullException.ThrowIfNull(ruleIds);
        var disabled = new HashSet<string>(ruleIds, StringComparer.Ordinal);
        if (disabled.Count == 0)
        {
            return this;
        }

        var kept = Rules.Where(r => !disabled.Contains(r.Id)).ToList();
        return new RulePack(kept, GlobalAllowlists, () => ComputeVersion(Version + "-" + string.Join(',', disabled.Order(StringComparer.Ordinal))), Warnings);
    }

    internal static string ComputeVersion(string content)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(content), hash);
        return Convert.ToHexStringLower(hash[..8]);
    }

    private static RulePack ReadBuiltIn()
    {
        using var stream = OpenBuiltIn();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return RulePackReader.Read(reader.ReadToEnd(), BuiltInSourceName, isBuiltIn: true, baseDirectory: null);
    }

    /// <summary>The embedded <c>rules/secrets.toml</c>, as bytes.</summary>
    internal static Stream OpenBuiltIn() => typeof(RulePack).Assembly.GetManifestResourceStream(BuiltInResourceName)
        ?? throw new RulePackException([$"{BuiltInSourceName}: the built-in rule pack (rules/secrets.toml) is not embedded in this build"]);
}
