namespace Airlock.ClaudeCode.SecretFiles;

/// <summary>
/// The one list of secret-bearing file patterns. <c>airlock claude-code setup</c> turns it into
/// <c>permissions.deny</c> rules (Read, Edit and the Bash readers), the gateway serves it (plus the
/// organization's additions) as the hook policy, and <c>airlock-hook</c> matches tool paths against it.
/// </summary>
/// <remarks>
/// A pattern without <c>/</c> is matched against the file name (<c>*.pem</c>, <c>.env.*</c>); a pattern
/// with <c>/</c> is matched against the trailing path components (<c>.aws/credentials</c> matches
/// <c>/home/ada/.aws/credentials</c>). <c>*</c> and <c>?</c> never cross a <c>/</c>. Matching ignores case:
/// macOS and Windows file systems do, and a deny list must not be dodged by <c>.ENV</c>.
/// </remarks>
public sealed class SecretFileList
{
    /// <summary>The built-in patterns: files that hold credentials by convention.</summary>
    public static readonly IReadOnlyList<string> BuiltInPatterns =
    [
        // Dotenv files and their per-environment variants (.env.local, .env.production, ...).
        ".env",
        ".env.*",
        // Private keys and key stores.
        "*.pem",
        "*.key",
        "*.p12",
        "*.pfx",
        "*.jks",
        "*.keystore",
        // SSH private keys under their default names.
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        "id_ecdsa_sk",
        "id_ed25519_sk",
        // Cloud, cluster and package-registry credentials.
        ".aws/credentials",
        "application_default_credentials.json",
        "credentials.json",
        ".docker/config.json",
        "kubeconfig",
        ".kube/config",
        ".npmrc",
        ".pypirc",
        ".netrc",
        "_netrc",
        ".git-credentials",
        ".pgpass",
        // Application secret files.
        "secrets.yaml",
        "secrets.yml",
        "*.tfstate",
    ];

    private readonly string[][] _patterns;

    /// <summary>Builds a list from patterns (validated: no empty parts, no <c>..</c>, no absolute paths).</summary>
    public SecretFileList(IEnumerable<string> patterns)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        var list = new List<string>();
        var parsed = new List<string[]>();
        foreach (var raw in patterns)
        {
            if (Validate(raw) is { } problem)
            {
                throw new ArgumentException($"secret file pattern '{raw}': {problem}", nameof(patterns));
            }
            var pattern = raw.Trim();
            if (list.Contains(pattern, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }
            list.Add(pattern);
            parsed.Add(pattern.Split('/'));
        }
        Patterns = list;
        _patterns = [.. parsed];
    }

    /// <summary>The built-in list.</summary>
    public static SecretFileList BuiltIn { get; } = new(BuiltInPatterns);

    /// <summary>The patterns, in order, without duplicates.</summary>
    public IReadOnlyList<string> Patterns { get; }

    /// <summary>The built-in list plus <paramref name="additions"/> (an organization's own patterns).</summary>
    public static SecretFileList WithAdditions(IEnumerable<string> additions) => new(BuiltInPatterns.Concat(additions));

    /// <summary>Why a pattern is unusable, or null when it is fine.</summary>
    public static string? Validate(string? pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern))
        {
            return "is empty";
        }
        var trimmed = pattern.Trim();
        if (trimmed.StartsWith('/') || trimmed.StartsWith('~') || trimmed.Contains('\\', StringComparison.Ordinal))
        {
            return "must be a file name or a relative path suffix such as .aws/credentials (no leading / or ~, no backslash)";
        }
        foreach (var part in trimmed.Split('/'))
        {
            if (part.Length == 0 || part == "." || part == "..")
            {
                return "has an empty, '.' or '..' path component";
            }
            if (part.Any(c => c is '(' or ')' or '"' or '[' or ']' or '{' or '}' || char.IsControl(c) || char.IsWhiteSpace(c)))
            {
                return "may use letters, digits, '.', '-', '_', '*' and '?' only";
            }
        }
        return null;
    }

    /// <summary>The first pattern that matches <paramref name="path"/> (absolute or relative, <c>/</c> or <c>\</c>), or null.</summary>
    public string? Match(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            return null;
        }
        for (var i = 0; i < _patterns.Length; i++)
        {
            var pattern = _patterns[i];
            if (pattern.Length > parts.Length)
            {
                continue;
            }
            var offset = parts.Length - pattern.Length;
            var all = true;
            for (var k = 0; k < pattern.Length && all; k++)
            {
                all = WildcardPattern.IsMatch(pattern[k], parts[offset + k], ignoreCase: true);
            }
            if (all)
            {
                return Patterns[i];
            }
        }
        return null;
    }
}
