using System.Text.RegularExpressions;

namespace Airlock.Inspection;

/// <summary>
/// One organization list: dictionary terms (customer names, codenames) matched case-insensitively on word
/// boundaries, and/or regex patterns (linear-time NonBacktracking). Its matches carry rule id
/// <c>org-&lt;name&gt;</c> so the policy can give each list its own action.
/// </summary>
public sealed class OrganizationTermList
{
    public OrganizationTermList(
        string name,
        IEnumerable<string>? terms = null,
        IEnumerable<string>? patterns = null,
        Confidence confidence = Confidence.Medium,
        bool identifiable = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = Normalize(name);
        RuleId = "org-" + Name;
        Terms = (terms ?? [])
            .Select(t => t.Trim())
            .Where(t => t.Length > 0 && !t.StartsWith('#'))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        var errors = new List<string>();
        var compiled = new List<Regex>();
        foreach (var pattern in patterns ?? [])
        {
            try
            {
                // Through the factory, so the linear engine's automaton limit is the one every rule gets.
                compiled.Add(RuleRegexFactory.CreateLinear(pattern, ignoreCase: true));
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
            {
                var reason = ex is RegexParseException parse ? $"offset {parse.Offset}: {parse.Error}" : ex.Message;
                errors.Add($"{RuleId}: pattern #{compiled.Count + errors.Count + 1}: {reason}");
            }
        }

        if (errors.Count > 0)
        {
            throw new RulePackException(errors);
        }

        Patterns = compiled;
        Confidence = confidence;
        Identifiable = identifiable;
    }

    /// <summary>Normalized list name (lower case, a-z 0-9 and '-').</summary>
    public string Name { get; }

    /// <summary><c>org-&lt;name&gt;</c>.</summary>
    public string RuleId { get; }

    public IReadOnlyList<string> Terms { get; }

    public IReadOnlyList<Regex> Patterns { get; }

    public Confidence Confidence { get; }

    public bool Identifiable { get; }

    /// <summary>Loads a dictionary file: one term per line; blank lines and lines starting with '#' are ignored.</summary>
    public static OrganizationTermList FromFile(string name, string path, Confidence confidence = Confidence.Medium)
    {
        try
        {
            return new OrganizationTermList(name, File.ReadAllLines(path), confidence: confidence);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RulePackException([$"{path}: cannot read term list '{name}': {ex.Message}"]);
        }
    }

    private static string Normalize(string name)
    {
        var chars = name.Trim().ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        return new string(chars).Trim('-');
    }
}
