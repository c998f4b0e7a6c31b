using System.Text;
using Airlock.Protocols.Sse;

namespace Airlock.Tests.Sse;

/// <summary>Collects the events a parser dispatches as (type, data) strings.</summary>
internal sealed class RecordingSink : ISseEventSink
{
    public List<(string Type, string Data)> Events { get; } = [];

    public void OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data) =>
        Events.Add((Encoding.UTF8.GetString(eventType), Encoding.UTF8.GetString(data)));
}
