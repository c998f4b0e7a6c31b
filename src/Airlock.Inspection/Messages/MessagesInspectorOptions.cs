namespace Airlock.Inspection.Messages;

/// <summary>Limits and switches for <see cref="MessagesRequestInspector"/>.</summary>
public sealed record MessagesInspectorOptions
{
    /// <summary>Most strings inspected in one body; beyond it the request is refused as incomplete.</summary>
    public int MaxStrings { get; init; } = 200_000;

    /// <summary>Deepest JSON nesting accepted (the walk itself never recurses).</summary>
    public int MaxDepth { get; init; } = 512;

    /// <summary>Also scan base64 payloads of image and document sources (off: they are media, and slow to scan).</summary>
    public bool IncludeBase64Media { get; init; }

    /// <summary>Strings shorter than this (raw bytes) are scanned directly instead of going through the cache.</summary>
    public int CacheMinBytes { get; init; } = 64;

    /// <summary>Conversations whose walk checkpoints are remembered, so that their next turn resumes after the
    /// unchanged prefix (0: every turn walks the whole body).</summary>
    public int PrefixMemoConversations { get; init; } = 256;

    /// <summary>Bounds of the verdict cache the inspector owns.</summary>
    public VerdictCacheOptions Cache { get; init; } = new();
}

/// <summary>Bounds of a <see cref="VerdictCache"/>.</summary>
public sealed record VerdictCacheOptions
{
    /// <summary>Most cached strings.</summary>
    public int MaxEntries { get; init; } = 200_000;

    /// <summary>Most memory (estimated) held by entries.</summary>
    public long MaxBytes { get; init; } = 64L * 1024 * 1024;
}
