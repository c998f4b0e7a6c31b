using System.Text.RegularExpressions;

namespace Airlock.Inspection.Tests.Messages.Fakes;

/// <summary>
/// Test double for the engine's scanner: a handful of regex rules, plus a count of the
/// characters it was asked to scan so tests can measure that work is incremental.
/// </summary>
public sealed class RegexTextScanner : ITextScanner
{
    private readonly (string RuleId, Regex Regex, FindingCategory Category, bool Identifiable)[] _rules;
    private long _scannedChars;
    private long _calls;

    public RegexTextScanner(params (string RuleId, string Pattern, FindingCategory Category, bool Identifiable)[] rules)
    {
        _rules = [.. rules.Select(r => (r.RuleId, new Regex(r.Pattern, RegexOptions.CultureInvariant), r.Category, r.Identifiable))];
    }

    /// <summary>Fake identifiable token, fake generic secret and fake email rules.</summary>
    public static RegexTextScanner CreateDefault() => new(
        (FakeSecrets.TokenRule, FakeSecrets.TokenPattern, FindingCategory.Secret, true),
        ("fake-generic-password", @"(?<=password=)[A-Za-z0-9]{12,}", FindingCategory.Secret, false),
        ("fake-email", @"[a-z0-9.]+@example\.test", FindingCategory.PersonalData, false));

    public long ScannedChars => Interlocked.Read(ref _scannedChars);

    public long Calls => Interlocked.Read(ref _calls);

    public void Scan(string text, List<TextMatch> results)
    {
        Interlocked.Add(ref _scannedChars, text.Length);
        Interlocked.Increment(ref _calls);
        int first = results.Count;
        foreach (var (ruleId, regex, category, identifiable) in _rules)
        {
            foreach (Match m in regex.Matches(text))
            {
                results.Add(new TextMatch(ruleId, category, identifiable ? Confidence.High : Confidence.Medium, m.Index, m.Length, identifiable));
            }
        }

        results.Sort(first, results.Count - first, Comparer<TextMatch>.Create(static (a, b) => a.Start.CompareTo(b.Start)));
    }
}
