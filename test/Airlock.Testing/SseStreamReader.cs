using System.Runtime.CompilerServices;
using System.Text;

namespace Airlock.Testing;

/// <summary>
/// Reads server-sent events from a response stream as they arrive, for tests that check what a client
/// receives (event order, timing, content). Follows the WHATWG event-stream parsing rules for the fields the
/// Messages API uses: <c>event</c>, <c>data</c> (several lines joined by LF) and <c>:</c> comments.
/// </summary>
public static class SseStreamReader
{
    public static async IAsyncEnumerable<SseEvent> ReadEventsAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        string? name = null;
        var data = new StringBuilder();
        var hasData = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (hasData)
                {
                    yield return new SseEvent(name ?? "message", data.ToString());
                }

                name = null;
                data.Clear();
                hasData = false;
                continue;
            }

            if (line[0] == ':')
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }

            if (field == "event")
            {
                name = value;
            }
            else if (field == "data")
            {
                if (hasData)
                {
                    data.Append('\n');
                }

                data.Append(value);
                hasData = true;
            }
        }

        // An event without its closing blank line is dropped, as the event-stream spec says: a cut-off
        // stream must not look complete.
    }

    /// <summary>Reads every event until the stream ends.</summary>
    public static async Task<IReadOnlyList<SseEvent>> ReadAllAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var events = new List<SseEvent>();
        await foreach (var sseEvent in ReadEventsAsync(stream, cancellationToken))
        {
            events.Add(sseEvent);
        }

        return events;
    }
}
