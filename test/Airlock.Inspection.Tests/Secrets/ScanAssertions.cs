namespace Airlock.Inspection.Tests.Secrets;

internal static class ScanAssertions
{
    public static List<TextMatch> ScanAll(this ITextScanner scanner, string text)
    {
        var results = new List<TextMatch>();
        scanner.Scan(text, results);
        return results;
    }

    /// <summary>The matched values, for assertions on FAKE test data only.</summary>
    public static List<string> Values(this IEnumerable<TextMatch> matches, string text) =>
        matches.Select(m => text.Substring(m.Start, m.Length)).ToList();

    public static List<string> Ids(this IEnumerable<TextMatch> matches) => matches.Select(m => m.RuleId).ToList();
}
