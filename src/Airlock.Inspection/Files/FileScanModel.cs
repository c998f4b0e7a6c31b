using Airlock.Inspection.Policy;

namespace Airlock.Inspection.Files;

/// <summary>What <see cref="FileTreeScanner.Scan"/> scans and how.</summary>
public sealed record FileScanOptions
{
    /// <summary>The rule engine.</summary>
    public required ITextScanner Scanner { get; init; }

    /// <summary>Keyed hasher for finding hashes (reports carry hashes, never values).</summary>
    public required FindingHasher Hasher { get; init; }

    /// <summary>Policy that assigns each finding its action (defaults when null).</summary>
    public InspectionPolicy? Policy { get; init; }

    /// <summary>Team the policy is resolved for.</summary>
    public string? Team { get; init; }

    /// <summary>Honor <c>.gitignore</c> files (from the repository root down). <c>.git/</c> is always skipped.</summary>
    public bool RespectGitignore { get; init; } = true;

    /// <summary>Extra patterns in gitignore syntax, relative to each scanned root.</summary>
    public IReadOnlyList<string>? ExcludePatterns { get; init; }

    /// <summary>Files larger than this are skipped and reported.</summary>
    public long MaxFileBytes { get; init; } = 4L * 1024 * 1024;
}

/// <summary>One finding in a file. Line and column are 1-based; columns count UTF-16 units (SARIF's default).</summary>
/// <param name="Path">File path as reported (the root as given, joined with the relative path, <c>/</c>-separated).</param>
/// <param name="Line">Line of the first character.</param>
/// <param name="Column">Column of the first character.</param>
/// <param name="EndLine">Line of the last character.</param>
/// <param name="EndColumn">Column after the last character.</param>
/// <param name="RuleId">Rule that matched.</param>
/// <param name="Category">Category of the rule.</param>
/// <param name="Confidence">Confidence of the rule.</param>
/// <param name="Action">Action policy assigns.</param>
/// <param name="ValueHash">Keyed hash of the value.</param>
public sealed record FileFinding(
    string Path,
    int Line,
    int Column,
    int EndLine,
    int EndColumn,
    string RuleId,
    FindingCategory Category,
    Confidence Confidence,
    InspectionAction Action,
    string ValueHash);

/// <summary>Why a file was not scanned.</summary>
public enum SkipReason
{
    /// <summary>A NUL byte in its first 8000 bytes (git's own binary heuristic).</summary>
    Binary,

    /// <summary>Larger than <see cref="FileScanOptions.MaxFileBytes"/>.</summary>
    TooLarge,

    /// <summary>Could not be read (permissions, vanished, I/O error).</summary>
    Unreadable,

    /// <summary>A symbolic link (not followed, to avoid loops and scanning outside the tree).</summary>
    SymbolicLink,

    /// <summary>The path given does not exist.</summary>
    NotFound,
}

/// <summary>A file that was not scanned, and why: nothing is skipped silently.</summary>
public sealed record SkippedFile(string Path, SkipReason Reason, long Size);

/// <summary>Result of a file scan: findings, skipped files, totals.</summary>
public sealed record FileScanReport(
    IReadOnlyList<FileFinding> Findings,
    IReadOnlyList<SkippedFile> Skipped,
    int FilesScanned,
    long BytesScanned);
