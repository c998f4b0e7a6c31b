namespace Airlock.Inspection;

/// <summary>Runs several scanners over the same text and reports all their matches ordered by start.</summary>
public sealed class CompositeScanner : ITextScanner
{
    private readonly ITextScanner[] _scanners;

    public CompositeScanner(params IEnumerable<ITextScanner> scanners)
    {
        ArgumentNullException.ThrowIfNull(scanners);
        _scanners = [.. scanners];
    }

    public IReadOnlyList<ITextScanner> Scanners => _scanners;

    /// <inheritdoc />
    public void Scan(string text, List<TextMatch> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var from = results.Count;
        foreach (var scanner in _scanners)
        {
            scanner.Scan(text, results);
        }

        TextChunker.SortAppended(results, from);
    }
}
