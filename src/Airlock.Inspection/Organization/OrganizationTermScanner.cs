using System.Buffers;

namespace Airlock.Inspection;

/// <summary>
/// Matches organization dictionaries and patterns. All terms of all lists go into one
/// <see cref="SearchValues{T}"/> (OrdinalIgnoreCase, Aho-Corasick inside the runtime), so the cost is one pass per
/// text whatever the dictionary size; a hit counts only on word boundaries (no letter, digit or '_' on either side).
/// </summary>
public sealed class OrganizationTermScanner : ITextScanner
{
    private const int MaxStringLength = 8 * 1024 * 1024;
    private const int ChunkOverlap = 4096;

    private readonly OrganizationTermList[] _lists;
    private readonly SearchValues<string>? _terms;
    private readonly Dictionary<char, TermEntry[]> _byFirstChar;

    public OrganizationTermScanner(IEnumerable<OrganizationTermList> lists)
    {
        ArgumentNullException.ThrowIfNull(lists);
        _lists = [.. lists];
        var duplicates = _lists.GroupBy(l => l.RuleId, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
        {
            throw new ArgumentException($"Duplicate organization list names: {string.Join(", ", duplicates)}", nameof(lists));
        }

        var entries = new List<TermEntry>();
        for (var i = 0; i < _lists.Length; i++)
        {
            foreach (var term in _lists[i].Terms)
            {
                entries.Add(new TermEntry(term, i));
            }
        }

        _byFirstChar = entries
            .GroupBy(e => char.ToUpperInvariant(e.Term[0]))
            .ToDictionary(g => g.Key, g => g.OrderByDescending(e => e.Term.Length).ToArray());
        var distinct = entries.Select(e => e.Term).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        _terms = distinct.Length > 0 ? SearchValues.Create(distinct, StringComparison.OrdinalIgnoreCase) : null;
    }

    public IReadOnlyList<OrganizationTermList> Lists => _lists;

    /// <inheritdoc />
    public void Scan(string text, List<TextMatch> results)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(results);
        var from = results.Count;
        TextChunker.Scan(text, MaxStringLength, ChunkOverlap, results, (start, end, into) => ScanRange(text, start, end, into));
        TextChunker.SortAppended(results, from);
    }

    private void ScanRange(string text, int start, int end, List<TextMatch> results)
    {
        if (_terms is not null)
        {
            FindTerms(text, start, end, results);
        }

        foreach (var list in _lists)
        {
            foreach (var pattern in list.Patterns)
            {
                for (var m = pattern.Match(text, start, end - start); m.Success; m = m.NextMatch())
                {
                    if (m.Length > 0)
                    {
                        results.Add(new TextMatch(list.RuleId, FindingCategory.OrganizationTerm, list.Confidence, m.Index, m.Length, list.Identifiable));
                    }
                }
            }
        }
    }

    private void FindTerms(string text, int start, int end, List<TextMatch> results)
    {
        var span = text.AsSpan(start, end - start);
        var seen = new HashSet<(int List, int Start, int Length)>();
        var pos = 0;
        while (pos < span.Length)
        {
            var rel = span[pos..].IndexOfAny(_terms!);
            if (rel < 0)
            {
                break;
            }

            var at = pos + rel;
            if ((at == 0 || !IsWordChar(span[at - 1])) && _byFirstChar.TryGetValue(char.ToUpperInvariant(span[at]), out var candidates))
            {
                foreach (var entry in candidates)
                {
                    var termEnd = at + entry.Term.Length;
                    if (termEnd <= span.Length && span[at..].StartsWith(entry.Term, StringComparison.OrdinalIgnoreCase)
                        && (termEnd == span.Length || !IsWordChar(span[termEnd])) && seen.Add((entry.ListIndex, at, entry.Term.Length)))
                    {
                        var list = _lists[entry.ListIndex];
                        results.Add(new TextMatch(list.RuleId, FindingCategory.OrganizationTerm, list.Confidence, start + at, entry.Term.Length, list.Identifiable));
                    }
                }
            }

            pos = at + 1;
        }
    }

    private static bool IsWordChar(char ch) => char.IsLetterOrDigit(ch) || ch == '_';

    private sealed record TermEntry(string Term, int ListIndex);
}
