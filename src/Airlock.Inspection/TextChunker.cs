namespace Airlock.Inspection;

/// <summary>
/// Splits strings longer than a scanner's maximum into overlapping ranges so that nothing is skipped:
/// each range owns a disjoint slice and is scanned with <c>overlap</c> characters of context on each side;
/// only matches that start inside the owned slice are kept, so a match is reported exactly once.
/// </summary>
internal static class TextChunker
{
    public delegate void RangeScanner(int start, int end, List<TextMatch> results);

    public static void Scan(string text, int maxLength, int overlap, List<TextMatch> results, RangeScanner scanRange)
    {
        if (text.Length <= maxLength)
        {
            scanRange(0, text.Length, results);
            return;
        }

        if (maxLength <= 2 * overlap)
        {
            overlap = maxLength / 4;
        }

        var step = maxLength - (2 * overlap);
        var chunk = new List<TextMatch>();
        for (var owned = 0; owned < text.Length; owned += step)
        {
            var ownedEnd = Math.Min(text.Length, owned + step);
            chunk.Clear();
            scanRange(Math.Max(0, owned - overlap), Math.Min(text.Length, ownedEnd + overlap), chunk);
            foreach (var match in chunk)
            {
                if (match.Start >= owned && match.Start < ownedEnd)
                {
                    results.Add(match);
                }
            }
        }
    }

    /// <summary>Sorts the matches appended since <paramref name="from"/> by start, then length (longest first), then rule id.</summary>
    public static void SortAppended(List<TextMatch> results, int from)
    {
        if (results.Count - from > 1)
        {
            results.Sort(from, results.Count - from, MatchOrder.Instance);
        }
    }

    private sealed class MatchOrder : IComparer<TextMatch>
    {
        public static readonly MatchOrder Instance = new();

        public int Compare(TextMatch x, TextMatch y)
        {
            var c = x.Start.CompareTo(y.Start);
            if (c != 0)
            {
                return c;
            }

            c = y.Length.CompareTo(x.Length);
            return c != 0 ? c : string.CompareOrdinal(x.RuleId, y.RuleId);
        }
    }
}
