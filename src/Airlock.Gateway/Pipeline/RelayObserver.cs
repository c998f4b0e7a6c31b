using System.Text;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Streaming;
using Airlock.Protocols.Messages;
using Airlock.Protocols.Sse;

namespace Airlock.Gateway.Pipeline;

/// <summary>Sees each SSE event of a relayed answer: usage accounting and output inspection.</summary>
internal sealed class RelayObserver(MessagesUsageTracker usage, StreamingOutputInspector? output, SseEventParser? parser = null) : ISseEventSink
{
    // Event names are interned so observing a stream allocates no string per event.
    private static readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> KnownEvents = new[]
    {
        "message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop", "ping", "error",
    }.ToDictionary(e => e, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The finding whose output action is block, once one occurs.</summary>
    public Finding? Blocking { get; private set; }

    /// <summary>Content capture of this exchange (null unless its team or key captures content).</summary>
    public Audit.ExchangeCapture? Capture { get; init; }

    /// <summary>
    /// Where, in the chunk that completed the answer, the completing event begins (set once, when <c>message_stop</c>
    /// arrives): what precedes it is sent at once, only the rest waits for the audit record.
    /// </summary>
    public int? CompletingEventStart { get; private set; }

    public void OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        var completed = usage.Completed;
        usage.OnEvent(eventType, data);
        if (!completed && usage.Completed)
        {
            CompletingEventStart = parser?.DispatchStart ?? 0;
        }
        Capture?.OnEvent(eventType, data);
        if (output is null || Blocking is not null)
        {
            return;
        }
        var verdict = output.Inspect(EventName(eventType), data);
        if (verdict.EndStream)
        {
            Blocking = verdict.BlockingFinding;
        }
    }

    private static string? EventName(ReadOnlySpan<byte> eventType)
    {
        if (eventType.IsEmpty)
        {
            return null;
        }
        Span<char> chars = stackalloc char[64];
        if (eventType.Length <= chars.Length)
        {
            var count = Encoding.UTF8.GetChars(eventType, chars);
            if (KnownEvents.TryGetValue(chars[..count], out var interned))
            {
                return interned;
            }
        }
        return Encoding.UTF8.GetString(eventType);
    }
}
