namespace Airlock.Inspection.Streaming;

/// <summary>
/// The text of one streamed content block as far as inspection still needs it: a window that
/// starts where a match could still begin (the current line, the start of a match that may
/// still grow, an unterminated PEM armor) and ends at the newest character. Offsets are
/// absolute in the block's text, so a match is identified the same way in every window.
/// </summary>
internal sealed class StreamedBlockText
{
    private const string PemBegin = "-----BEGIN ";
    private const string PemEnd = "-----END ";

    private readonly List<(string RuleId, long Start, long End)> _reported = [];
    private char[] _buffer = new char[256];
    private int _count;
    private long _bufferStart;
    private long _scannedEnd;

    public StreamedBlockText(string location, PartialJsonTextDecoder? json)
    {
        Location = location;
        Json = json;
    }

    /// <summary>JSON location of the block's text, e.g. <c>content[1].text</c>.</summary>
    public string Location { get; }

    /// <summary>Set for tool inputs, whose deltas are JSON fragments.</summary>
    public PartialJsonTextDecoder? Json { get; }

    /// <summary>Characters appended since the last scan.</summary>
    public long Pending => End - _scannedEnd;

    private long End => _bufferStart + _count;

    public void Append(ReadOnlySpan<char> text)
    {
        EnsureCapacity(text.Length);
        text.CopyTo(_buffer.AsSpan(_count));
        _count += text.Length;
    }

    public void AppendJson(ReadOnlySpan<char> fragment)
    {
        EnsureCapacity(fragment.Length);
        _count += Json!.Decode(fragment, _buffer.AsSpan(_count));
    }

    /// <summary>
    /// Scans the window; calls <paramref name="report"/> for each match seen complete for the first
    /// time, with the window's text (to hash the value) and the match's absolute start.
    /// A match that touches the newest character may still grow, so it waits unless <paramref name="final"/>.
    /// </summary>
    public long Scan(ITextScanner scanner, List<TextMatch> scratch, bool final, Action<string, TextMatch, long> report, StreamingInspectorOptions options)
    {
        if (_count == 0)
        {
            _scannedEnd = End;
            return 0;
        }

        string text = new(_buffer, 0, _count);
        scratch.Clear();
        scanner.Scan(text, scratch);
        long end = End;
        long growingFrom = end;
        foreach (var match in scratch)
        {
            if (match.Start < 0 || match.Length <= 0 || match.Start > text.Length - match.Length)
            {
                continue;
            }

            long start = _bufferStart + match.Start;
            long matchEnd = start + match.Length;
            if (!final && matchEnd == end)
            {
                growingFrom = Math.Min(growingFrom, start);
                continue;
            }

            if (AlreadyReported(match.RuleId, start, matchEnd))
            {
                continue;
            }

            _reported.Add((match.RuleId, start, matchEnd));
            report(text, match, start);
        }

        _scannedEnd = end;
        Trim(text, growingFrom, options);
        return text.Length;
    }

    // A match overlapping one already reported for the same rule is that match again, possibly
    // seen through a window that cut its beginning off.
    private bool AlreadyReported(string ruleId, long start, long end)
    {
        foreach (var (reportedRule, reportedStart, reportedEnd) in _reported)
        {
            if (start < reportedEnd && reportedStart < end && string.Equals(reportedRule, ruleId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private void Trim(string text, long growingFrom, StreamingInspectorOptions options)
    {
        long end = End;

        // Re-read the last CarryOverLines lines (rules that pair values within a few lines need
        // them; most rules need only the current one), at most CarryOverChars back.
        int floor = Math.Max(0, _count - options.CarryOverChars);
        int keepIndex = _count;
        bool atBreak = false;
        for (int lines = 0; lines < options.CarryOverLines; lines++)
        {
            int lineBreak = keepIndex <= floor ? -1 : text.AsSpan(floor, keepIndex - floor).LastIndexOf('\n');
            if (lineBreak < 0)
            {
                keepIndex = floor;
                atBreak = false;
                break;
            }

            // Next round searches before this break; the kept text starts after it.
            keepIndex = floor + lineBreak;
            atBreak = true;
        }

        long keepFrom = _bufferStart + (atBreak ? keepIndex + 1 : keepIndex);

        // PEM armor (RFC 7468) is the common multi-line secret: keep it whole until its END line.
        // The armor counts as closed only once its END line is complete ("-----END X-----").
        int begin = text.LastIndexOf(PemBegin, StringComparison.Ordinal);
        int endLine = begin < 0 ? -1 : text.IndexOf(PemEnd, begin, StringComparison.Ordinal);
        bool closed = endLine >= 0 && text.IndexOf("-----", endLine + PemEnd.Length, StringComparison.Ordinal) >= 0;
        if (begin >= 0 && !closed)
        {
            keepFrom = Math.Min(keepFrom, _bufferStart + begin);
        }

        keepFrom = Math.Min(keepFrom, growingFrom);
        keepFrom = Math.Max(keepFrom, end - options.MaxRetainedChars);
        keepFrom = Math.Max(keepFrom, _bufferStart);
        int drop = (int)(keepFrom - _bufferStart);
        if (drop > 0)
        {
            Array.Copy(_buffer, drop, _buffer, 0, _count - drop);
            _count -= drop;
            _bufferStart = keepFrom;
            _reported.RemoveAll(r => r.End <= _bufferStart);
        }
    }

    private void EnsureCapacity(int extra)
    {
        if (_count + extra > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _count + extra));
        }
    }
}
