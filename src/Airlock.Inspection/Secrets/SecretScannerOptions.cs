namespace Airlock.Inspection;

/// <summary>Limits and windows for <see cref="SecretScanner"/>. Defaults suit prompts and files.</summary>
public sealed class SecretScannerOptions
{
    /// <summary>Strings longer than this are scanned in overlapping chunks (never skipped). Default 8 MiB chars.</summary>
    public int MaxStringLength { get; init; } = 8 * 1024 * 1024;

    /// <summary>Context scanned on each side of a chunk. Must exceed the longest expected match. Default 64 Ki chars.</summary>
    public int ChunkOverlap { get; init; } = 64 * 1024;

    /// <summary>Texts longer than this run each rule only in windows around its keyword hits. Default 64 Ki chars.</summary>
    public int WindowingThreshold { get; init; } = 64 * 1024;

    /// <summary>Characters before and after a keyword hit that a rule's regex sees in a long text. Default 512.</summary>
    public int WindowRadius { get; init; } = 512;

    /// <summary>Characters after a keyword hit for rules with unbounded repeats (PEM blocks, multi-line values). Default 8 Ki.</summary>
    public int LongMatchWindow { get; init; } = 8 * 1024;

    internal void Validate()
    {
        if (MaxStringLength < 1024 || ChunkOverlap < 0 || WindowingThreshold < 0 || WindowRadius < 0 || LongMatchWindow < WindowRadius)
        {
            throw new ArgumentException("SecretScannerOptions: MaxStringLength >= 1024, other limits >= 0 and LongMatchWindow >= WindowRadius.");
        }
    }
}
