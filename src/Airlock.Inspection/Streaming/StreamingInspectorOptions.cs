namespace Airlock.Inspection.Streaming;

/// <summary>Window sizes of <see cref="StreamingOutputInspector"/>.</summary>
public sealed record StreamingInspectorOptions
{
    /// <summary>
    /// Most already-scanned characters re-read with new text, so a value split across deltas is
    /// seen whole. Re-reading starts <see cref="CarryOverLines"/> lines back (secrets are
    /// single-line, except PEM armor, which is kept whole separately) and never further than this.
    /// </summary>
    public int CarryOverChars { get; init; } = 1024;

    /// <summary>Lines of context re-read with new text (the current line counts as one).</summary>
    public int CarryOverLines { get; init; } = 4;

    /// <summary>
    /// New characters a block accumulates before it is scanned again (it is always scanned when it
    /// ends). The answer is relayed without waiting either way; this only bounds how late a block
    /// action can stop the stream.
    /// </summary>
    public int ScanIntervalChars { get; init; } = 128;

    /// <summary>Hard cap on characters kept per block (an unterminated PEM block or a match still growing).</summary>
    public int MaxRetainedChars { get; init; } = 64 * 1024;
}
