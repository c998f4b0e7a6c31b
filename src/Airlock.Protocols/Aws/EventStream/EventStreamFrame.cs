using System.Buffers.Binary;
using System.Text;

namespace Airlock.Protocols.Aws.EventStream;

/// <summary>
/// A decoded frame as a view over the decoder's buffer: valid only during the
/// <see cref="IEventStreamFrameHandler.OnFrame"/> call (copy what you keep, or call <see cref="ToMessage"/>).
/// Both CRCs and the header block were checked before the frame is handed out, so reading headers cannot fail.
/// </summary>
public readonly ref struct EventStreamFrame
{
    internal EventStreamFrame(ReadOnlySpan<byte> headerBytes, ReadOnlySpan<byte> payload)
    {
        HeaderBytes = headerBytes;
        Payload = payload;
    }

    /// <summary>The raw header block.</summary>
    public ReadOnlySpan<byte> HeaderBytes { get; }

    /// <summary>The payload bytes.</summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>Walks the headers without allocating.</summary>
    public EventStreamHeaderReader Headers => new(HeaderBytes);

    /// <summary>
    /// Finds the first header named <paramref name="name"/> whose type is string or bytes and returns its raw value.
    /// This is what routing on <c>:message-type</c>, <c>:event-type</c>, <c>:exception-type</c> needs.
    /// </summary>
    public bool TryGetString(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        var reader = Headers;
        while (reader.MoveNext())
        {
            if (reader.Name.SequenceEqual(name) && reader.Type is EventStreamHeaderType.String or EventStreamHeaderType.ByteArray)
            {
                value = reader.ValueBytes;
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>Copies the frame into a self-contained <see cref="EventStreamMessage"/>.</summary>
    public EventStreamMessage ToMessage()
    {
        var headers = new List<EventStreamHeader>();
        var reader = Headers;
        while (reader.MoveNext())
        {
            headers.Add(reader.ToHeader());
        }
        return new EventStreamMessage(headers, Payload.ToArray());
    }
}

/// <summary>Zero-allocation cursor over a header block that the decoder already validated.</summary>
public ref struct EventStreamHeaderReader
{
    private ReadOnlySpan<byte> _rest;

    internal EventStreamHeaderReader(ReadOnlySpan<byte> headerBytes)
    {
        _rest = headerBytes;
        Name = default;
        ValueBytes = default;
        Type = default;
    }

    /// <summary>Current header name (UTF-8).</summary>
    public ReadOnlySpan<byte> Name { get; private set; }

    /// <summary>Current header type.</summary>
    public EventStreamHeaderType Type { get; private set; }

    /// <summary>The value bytes as on the wire, without the u16 length prefix of strings and byte arrays.</summary>
    public ReadOnlySpan<byte> ValueBytes { get; private set; }

    /// <summary>Advances to the next header; false at the end.</summary>
    public bool MoveNext()
    {
        if (_rest.IsEmpty)
        {
            return false;
        }
        var nameLength = _rest[0];
        Name = _rest.Slice(1, nameLength);
        Type = (EventStreamHeaderType)_rest[1 + nameLength];
        var valueStart = 2 + nameLength;
        var (prefix, length) = EventStreamDecoder.ValueLayout(Type, _rest[valueStart..]);
        ValueBytes = _rest.Slice(valueStart + prefix, length);
        _rest = _rest[(valueStart + prefix + length)..];
        return true;
    }

    /// <summary>The current header as a self-contained value.</summary>
    public readonly EventStreamHeader ToHeader()
    {
        var name = Encoding.UTF8.GetString(Name);
        var v = ValueBytes;
        return Type switch
        {
            EventStreamHeaderType.BoolTrue => EventStreamHeader.Bool(name, true),
            EventStreamHeaderType.BoolFalse => EventStreamHeader.Bool(name, false),
            EventStreamHeaderType.Byte => EventStreamHeader.Byte(name, (sbyte)v[0]),
            EventStreamHeaderType.Int16 => EventStreamHeader.Int16(name, BinaryPrimitives.ReadInt16BigEndian(v)),
            EventStreamHeaderType.Int32 => EventStreamHeader.Int32(name, BinaryPrimitives.ReadInt32BigEndian(v)),
            EventStreamHeaderType.Int64 => EventStreamHeader.Int64(name, BinaryPrimitives.ReadInt64BigEndian(v)),
            EventStreamHeaderType.ByteArray => EventStreamHeader.ByteArray(name, v.ToArray()),
            EventStreamHeaderType.String => EventStreamHeader.FromWire(name, EventStreamHeaderType.String, 0, v.ToArray(), default),
            EventStreamHeaderType.Timestamp => EventStreamHeader.Timestamp(name, BinaryPrimitives.ReadInt64BigEndian(v)),
            EventStreamHeaderType.Uuid => EventStreamHeader.Uuid(name, new Guid(v, bigEndian: true)),
            _ => throw new InvalidOperationException("unreachable: header types are validated when the frame is decoded"),
        };
    }
}
