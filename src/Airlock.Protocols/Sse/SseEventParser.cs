using System.Buffers;

namespace Airlock.Protocols.Sse;

/// <summary>Receives complete server-sent events.</summary>
public interface ISseEventSink
{
    /// <summary>One event: its <c>event:</c> name (empty when absent) and its <c>data:</c> lines joined by LF.</summary>
    void OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data);
}

/// <summary>
/// Incremental parser for <c>text/event-stream</c> (WHATWG HTML §9.2 "Server-sent events"): bytes arrive
/// in arbitrary chunks, events are dispatched at each blank line. It observes a stream that is relayed
/// untouched; it never changes or delays what the client receives. Lines may end in LF, CRLF or CR.
/// </summary>
public sealed class SseEventParser : IDisposable
{
    private const int MaxEventBytes = 16 * 1024 * 1024;
    private byte[] _line = ArrayPool<byte>.Shared.Rent(4096);
    private int _lineLength;
    private byte[] _data = ArrayPool<byte>.Shared.Rent(4096);
    private int _dataLength;
    private bool _hasData;
    private readonly byte[] _eventType = new byte[64];
    private int _eventTypeLength;
    private bool _lastWasCr;

    private int _eventStart;
    private int _lineEnd;

    /// <summary>True when an event exceeded the size limit and was dropped from observation (the relay is unaffected).</summary>
    public bool Overflowed { get; private set; }

    /// <summary>
    /// While an event is dispatched: the offset in the chunk being fed at which that event's bytes begin (0 when they
    /// began in an earlier chunk). A relay that holds back the event completing an answer sends what precedes it.
    /// </summary>
    public int DispatchStart { get; private set; }

    /// <summary>Feeds the next chunk of the stream.</summary>
    public void Feed(ReadOnlySpan<byte> chunk, ISseEventSink handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var total = chunk.Length;
        _eventStart = 0;
        while (!chunk.IsEmpty)
        {
            if (_lastWasCr && chunk[0] == (byte)'\n')
            {
                // Second half of a CRLF whose CR ended the previous chunk.
                chunk = chunk[1..];
                _lastWasCr = false;
                continue;
            }
            _lastWasCr = false;
            var end = chunk.IndexOfAny((byte)'\n', (byte)'\r');
            if (end < 0)
            {
                Append(ref _line, ref _lineLength, chunk);
                return;
            }
            Append(ref _line, ref _lineLength, chunk[..end]);
            if (chunk[end] == (byte)'\r')
            {
                if (end + 1 < chunk.Length)
                {
                    if (chunk[end + 1] == (byte)'\n')
                    {
                        end++;
                    }
                }
                else
                {
                    _lastWasCr = true;
                }
            }
            chunk = chunk[(end + 1)..];
            _lineEnd = total - chunk.Length;
            ProcessLine(_line.AsSpan(0, _lineLength), handler);
            _lineLength = 0;
        }
    }

    private void ProcessLine(ReadOnlySpan<byte> line, ISseEventSink handler)
    {
        if (line.IsEmpty)
        {
            // WHATWG §9.2.6: a block without data dispatches nothing, even if it named an event, so a bare
            // "event: message_stop" line cannot make a truncated answer look complete.
            if (_hasData)
            {
                DispatchStart = _eventStart;
                handler.OnEvent(_eventType.AsSpan(0, _eventTypeLength), _data.AsSpan(0, _dataLength));
            }
            _eventStart = _lineEnd;
            _dataLength = 0;
            _hasData = false;
            _eventTypeLength = 0;
            return;
        }
        if (line[0] == (byte)':')
        {
            return; // comment
        }
        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? ReadOnlySpan<byte>.Empty : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }
        if (field.SequenceEqual("data"u8))
        {
            if (_hasData)
            {
                Append(ref _data, ref _dataLength, "\n"u8);
            }
            Append(ref _data, ref _dataLength, value);
            _hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            _eventTypeLength = Math.Min(value.Length, _eventType.Length);
            value[.._eventTypeLength].CopyTo(_eventType);
        }
    }

    private void Append(ref byte[] buffer, ref int length, ReadOnlySpan<byte> bytes)
    {
        if (length + bytes.Length > MaxEventBytes)
        {
            Overflowed = true;
            return;
        }
        if (length + bytes.Length > buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, length + bytes.Length));
            buffer.AsSpan(0, length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = bigger;
        }
        bytes.CopyTo(buffer.AsSpan(length));
        length += bytes.Length;
    }

    /// <summary>Returns pooled buffers.</summary>
    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_line);
        ArrayPool<byte>.Shared.Return(_data);
        _line = [];
        _data = [];
    }
}
