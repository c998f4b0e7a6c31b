using Airlock.Inspection.Policy;

namespace Airlock.Inspection.Messages;

/// <summary>
/// Inspects a Messages API request body (<c>POST /v1/messages</c>) as raw UTF-8 bytes: every
/// string Claude Code sends as conversation content (<c>system</c>, message text, tool inputs,
/// tool results at any depth, text documents, thinking) is decoded and scanned, and values
/// policy wants redacted are spliced out byte-for-byte, leaving every other byte of the body
/// as it was. Nothing is re-serialized, unknown fields pass untouched.
/// </summary>
/// <remarks>
/// One instance per scanner (it owns the <see cref="VerdictCache"/> for that scanner's rules);
/// thread-safe, share it across requests. Policy and team are per call, so a policy reload
/// does not invalidate cached verdicts.
/// </remarks>
public sealed class MessagesRequestInspector
{
    public MessagesRequestInspector(ITextScanner scanner, FindingHasher hasher, MessagesInspectorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scanner);
        ArgumentNullException.ThrowIfNull(hasher);
        Scanner = scanner;
        Hasher = hasher;
        Options = options ?? new MessagesInspectorOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Options.MaxStrings);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Options.MaxDepth);
        Cache = new VerdictCache(Options.Cache);
        ArgumentOutOfRangeException.ThrowIfNegative(Options.PrefixMemoConversations);
        PrefixMemo = Options.PrefixMemoConversations > 0 ? new ConversationPrefixMemo(Options.PrefixMemoConversations) : null;
    }

    /// <summary>The scanner every string goes through.</summary>
    public ITextScanner Scanner { get; }

    /// <summary>The keyed hasher used for finding hashes and placeholders.</summary>
    public FindingHasher Hasher { get; }

    /// <summary>Limits and switches.</summary>
    public MessagesInspectorOptions Options { get; }

    /// <summary>Verdicts of strings already seen (statistics: hits, misses, size).</summary>
    public VerdictCache Cache { get; }

    /// <summary>Walk checkpoints of recent conversations (null when disabled).</summary>
    internal ConversationPrefixMemo? PrefixMemo { get; }

    /// <summary>Turns whose walk resumed after an unchanged, already inspected prefix.</summary>
    public long ResumedTurns => PrefixMemo?.Resumed ?? 0;

    /// <summary>
    /// Inspects <paramref name="body"/> (UTF-8 JSON, already validated by the caller) for
    /// <paramref name="team"/> under <paramref name="policy"/>.
    /// </summary>
    /// <param name="body">The request body.</param>
    /// <param name="team">The caller's team (policy rules can depend on it).</param>
    /// <param name="policy">What to do with each finding.</param>
    /// <param name="layout">Where the body's top-level members lie, from the caller's validation pass of these exact
    /// bytes: only the members inspected are then read. Without it the inspection reads the layout itself.</param>
    public RequestInspection Inspect(ReadOnlyMemory<byte> body, string? team, InspectionPolicy policy, RequestBodyLayout? layout = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (layout is not null && layout.BodyLength != body.Length)
        {
            throw new ArgumentException("the layout was taken from another body", nameof(layout));
        }

        return new MessagesRequestWalk(this, body, team, policy, layout).Run();
    }
}
