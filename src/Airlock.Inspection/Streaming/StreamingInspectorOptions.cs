namespace Airlock.Inspection.Streaming;

/// <summary>Window sizes of <see cref="StreamingOutputInspector"/>.</summary>
public sealed record StreamingInspectorOptions
{
    /// <summary>
    /// Most already-scanned characters re-read with new text, so a value split across deltas is
    /// seen whole. Re-reading starts at the current line (secrets are single-line, except PEM armor,
    /// which is kept whole separately) and never reaches back further than this.
    /// </summary>
    public int CarryOverChars { get; init; } = 512;

    /// <summary>New characters a block accumulates before it is scanned again (it is always scanned when it ends).</summary>
    public int ScanIntervalChars { get; init; } = 64;

    /// <summary>Hard cap on characters kept per block (an unterminated PEM block or a match still growing).</summary>
    public int MaxRetainedChars { get; init; } = 64 * 1024;
}
