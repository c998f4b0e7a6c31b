using System.Text;

namespace Airlock.Protocols.Aws.EventStream;

/// <summary>A self-contained event-stream message (headers and payload), for code that keeps frames.</summary>
public sealed class EventStreamMessage
{
    public EventStreamMessage(IReadOnlyList<EventStreamHeader> headers, ReadOnlyMemory<byte> payload)
    {
        Headers = headers ?? throw new ArgumentNullException(nameof(headers));
        Payload = payload;
    }

    /// <summary>Headers in wire order.</summary>
    public IReadOnlyList<EventStreamHeader> Headers { get; }

    /// <summary>Payload bytes.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The first string header named <paramref name="name"/>, or null.</summary>
    public string? GetString(string name)
    {
        foreach (var header in Headers)
        {
            if (header.Name == name && header.Type == EventStreamHeaderType.String)
            {
                return header.AsString();
            }
        }
        return null;
    }

    /// <summary>The encoded frame.</summary>
    public byte[] ToArray() => EventStreamWriter.ToArray(Headers, Payload.Span);

    /// <summary>Header names and payload size only (payloads carry content).</summary>
    public override string ToString()
    {
        var text = new StringBuilder("event-stream message [");
        text.AppendJoin(", ", Headers.Select(h => h.ToString()));
        return text.Append("] payload ").Append(Payload.Length).Append(" bytes").ToString();
    }
}
