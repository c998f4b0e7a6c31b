namespace Airlock.Inspection;

/// <summary>Limits and windows for <see cref="SecretScanner"/>. Defaults suit prompts and files.</summary>
public sealed class SecretScannerOptions
{
    /// <summary>Strings longer than this are scanned in overlapping chunks (never skipped). Default 8 MiB chars.</summary>
    public int MaxStringLength { get; init; } = 8 * 1024 * 1024;

    /// <summary>Context scanned on each side of a chunk. Must exceed the longest expected match. Default 64 Ki chars.</summary>
    public int ChunkOverlap { get; init; } = 64 * 1024;

    /// <summary>Most characters after a keyword that a rule's window reaches when the line goes on (and, for rules with
    /// unbounded repeats, before it). Default 512.</summary>
    public int WindowRadius { get; init; } = 512;

    /// <summary>Most characters a window reaches back from a keyword to find the start of its line. Default 256.</summary>
    public int MaxLineLookBehind { get; init; } = 256;

    /// <summary>Characters after a keyword hit for rules with unbounded repeats (PEM blocks, multi-line values). Default 8 Ki.</summary>
    public int LongMatchWindow { get; init; } = 8 * 1024;

    /// <summary>Engine for built-in rules. <see cref="BuiltInRegexEngine.Interpreted"/> (default) is ready at load and
    /// fastest on the small windows the scanner runs regexes on. The others are built on first use (or in
    /// <see cref="SecretScanner.WarmUp"/>).</summary>
    public BuiltInRegexEngine BuiltInEngine { get; init; } = BuiltInRegexEngine.Interpreted;

    /// <summary>Hand-written per-hit checks of the built-in generic rules (<see cref="HitGate"/>). Only tests turn them
    /// off, to show that they change no finding.</summary>
    internal bool HitGates { get; init; } = true;

    internal void Validate()
    {
        if (MaxStringLength < 1024 || ChunkOverlap < 0 || MaxLineLookBehind < 0 || WindowRadius < 0 || LongMatchWindow < WindowRadius)
        {
            throw new ArgumentException("SecretScannerOptions: MaxStringLength >= 1024, other limits >= 0 and LongMatchWindow >= WindowRadius.");
        }
    }
}

/// <summary>Regex engine used for built-in rules (organization rules always use NonBacktracking).</summary>
public enum BuiltInRegexEngine
{
    /// <summary>Backtracking, interpreted, built at load in microseconds; 500 ms match timeout with a linear-time fallback.</summary>
    Interpreted,

    /// <summary>Linear time, built lazily per rule (~20–400 ms each).</summary>
    NonBacktracking,

    /// <summary>Backtracking, compiled on first use, 500 ms match timeout with a linear-time fallback.</summary>
    Compiled,
}
