using Airlock.Inspection.Messages;

namespace Airlock.Inspection.Streaming;

/// <summary>What inspecting one streamed event found, and whether the stream must end now.</summary>
/// <param name="NewFindings">Findings completed by this event (empty most of the time).</param>
/// <param name="EndStream">True when output policy says block: send an SSE <c>error</c> event and stop relaying.</param>
/// <param name="BlockingFinding">The finding that ended the stream.</param>
public readonly record struct StreamEventVerdict(IReadOnlyList<Finding> NewFindings, bool EndStream, Finding? BlockingFinding)
{
    /// <summary>Nothing found, keep streaming.</summary>
    public static StreamEventVerdict Continue { get; } = new([], false, null);
}
