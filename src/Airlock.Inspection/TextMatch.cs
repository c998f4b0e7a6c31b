namespace Airlock.Inspection;

/// <summary>
/// One match inside one decoded string. It carries offsets, never the matched value, so a
/// match can be logged or stored without leaking what it found: callers that need the value
/// (to hash or redact it) slice it from the text they scanned.
/// </summary>
/// <param name="RuleId">Stable rule id, e.g. <c>github-pat</c> or <c>pii-email</c>.</param>
/// <param name="Category">Secret, personal data or organization term.</param>
/// <param name="Confidence">How sure the rule is.</param>
/// <param name="Start">UTF-16 offset of the secret (the rule's secret group) in the scanned text.</param>
/// <param name="Length">UTF-16 length of the secret.</param>
/// <param name="Identifiable">True for tokens recognisable on their own (unique prefix, checksum, PEM):
/// these are redacted by default; generic matches are alerted on by default.</param>
public readonly record struct TextMatch(
    string RuleId,
    FindingCategory Category,
    Confidence Confidence,
    int Start,
    int Length,
    bool Identifiable);

/// <summary>
/// Scans one decoded string (a JSON string value, a file, a stream window) for every enabled
/// rule. Implementations are immutable after construction and safe to share across threads.
/// </summary>
public interface ITextScanner
{
    /// <summary>Appends every match in <paramref name="text"/> to <paramref name="results"/>,
    /// ordered by <see cref="TextMatch.Start"/>. Overlapping matches of different rules are all reported.</summary>
    void Scan(string text, List<TextMatch> results);
}
