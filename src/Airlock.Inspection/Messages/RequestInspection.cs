namespace Airlock.Inspection.Messages;

/// <summary>Outcome of inspecting one Messages request body.</summary>
public sealed class RequestInspection
{
    internal RequestInspection(
        IReadOnlyList<Finding> findings,
        bool blocked,
        Finding? blockingFinding,
        string? blockReason,
        ReadOnlyMemory<byte> body,
        bool modified,
        bool incomplete)
    {
        Findings = findings;
        Blocked = blocked;
        BlockingFinding = blockingFinding;
        BlockReason = blockReason;
        Body = body;
        Modified = modified;
        Incomplete = incomplete;
    }

    /// <summary>Every finding, in document order (also those whose action is alert).</summary>
    public IReadOnlyList<Finding> Findings { get; }

    /// <summary>True when the request must be refused (a block finding, or inspection could not finish).</summary>
    public bool Blocked { get; }

    /// <summary>The first finding whose action is block; null when blocked for another reason or not blocked.</summary>
    public Finding? BlockingFinding { get; }

    /// <summary>
    /// Client-safe reason when <see cref="Blocked"/>, e.g.
    /// <c>request blocked: rule aws-secret-access-key at messages[4].content[0].content</c>.
    /// Ready to use as the message of a 400 <c>invalid_request_error</c>; it never contains a matched value.
    /// </summary>
    public string? BlockReason { get; }

    /// <summary>The body to forward: the original memory when nothing was redacted, else a spliced copy.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>True when <see cref="Body"/> differs from the input (at least one redaction).</summary>
    public bool Modified { get; }

    /// <summary>
    /// True when a limit (strings, depth) or malformed input stopped inspection before the end.
    /// Such results are also <see cref="Blocked"/>: the gateway fails closed unless configured otherwise.
    /// </summary>
    public bool Incomplete { get; }
}
