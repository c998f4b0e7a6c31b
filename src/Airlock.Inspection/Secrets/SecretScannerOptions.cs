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

    /// <summary>Engine for built-in rules. <see cref="BuiltInRegexEngine.NonBacktracking"/> (default) builds each rule's
    /// linear-time form on its first use (or in <see cref="SecretScanner.WarmUp"/>): faster once warm and immune to
    /// backtracking. <see cref="BuiltInRegexEngine.Compiled"/> uses the backtracking form with a match timeout.</summary>
    public BuiltInRegexEngine BuiltInEngine { get; init; } = BuiltInRegexEngine.NonBacktracking;

    internal void Validate()
    {
        if (MaxStringLength < 1024 || ChunkOverlap < 0 || WindowingThreshold < 0 || WindowRadius < 0 || LongMatchWindow < WindowRadius)
        {
            throw new ArgumentException("SecretScannerOptions: MaxStringLength >= 1024, other limits >= 0 and LongMatchWindow >= WindowRadius.");
        }
    }
}

/// <summary>Regex engine used for built-in rules (organization rules always use NonBacktracking).</summary>
public enum BuiltInRegexEngine
{
    /// <summary>Linear time, built lazily per rule.</summary>
    NonBacktracking,

    /// <summary>Backtracking, compiled at load, 500 ms match timeout with a linear-time fallback.</summary>
    Compiled,
}
