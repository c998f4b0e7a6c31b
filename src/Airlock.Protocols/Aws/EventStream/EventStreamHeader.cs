using System.Text;

// The member names are the event-stream specification's type names (aws-c-event-stream, smithy-rs).
#pragma warning disable CA1720

namespace Airlock.Protocols.Aws.EventStream;

/// <summary>
/// One decoded (or to-be-encoded) event-stream header: a name and a typed value. The zero-copy path is
/// <see cref="EventStreamFrame"/>; this type is for code that keeps headers beyond the decoder callback.
/// </summary>
public readonly struct EventStreamHeader : IEquatable<EventStreamHeader>
{
    private readonly long _integer;
    private readonly byte[]? _bytes;
    private readonly Guid _uuid;

    private EventStreamHeader(string name, EventStreamHeaderType type, long integer, byte[]? bytes, Guid uuid)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (Encoding.UTF8.GetByteCount(name) > byte.MaxValue)
        {
            throw new ArgumentException("an event-stream header name is at most 255 UTF-8 bytes", nameof(name));
        }
        if (bytes is not null && bytes.Length > ushort.MaxValue)
        {
            throw new ArgumentException("an event-stream header value is at most 65535 bytes", nameof(bytes));
        }
        Name = name;
        Type = type;
        _integer = integer;
        _bytes = bytes;
        _uuid = uuid;
    }

    /// <summary>Header name (1–255 UTF-8 bytes).</summary>
    public string Name { get; }

    /// <summary>Value type.</summary>
    public EventStreamHeaderType Type { get; }

    public static EventStreamHeader Bool(string name, bool value) =>
        new(name, value ? EventStreamHeaderType.BoolTrue : EventStreamHeaderType.BoolFalse, value ? 1 : 0, null, default);

    public static EventStreamHeader Byte(string name, sbyte value) => new(name, EventStreamHeaderType.Byte, value, null, default);

    public static EventStreamHeader Int16(string name, short value) => new(name, EventStreamHeaderType.Int16, value, null, default);

    public static EventStreamHeader Int32(string name, int value) => new(name, EventStreamHeaderType.Int32, value, null, default);

    public static EventStreamHeader Int64(string name, long value) => new(name, EventStreamHeaderType.Int64, value, null, default);

    public static EventStreamHeader ByteArray(string name, byte[] value) =>
        new(name, EventStreamHeaderType.ByteArray, 0, value ?? throw new ArgumentNullException(nameof(value)), default);

    public static EventStreamHeader String(string name, string value) =>
        new(name, EventStreamHeaderType.String, 0, Encoding.UTF8.GetBytes(value ?? throw new ArgumentNullException(nameof(value))), default);

    /// <summary>A timestamp header; the wire carries milliseconds since the Unix epoch.</summary>
    public static EventStreamHeader Timestamp(string name, long unixMilliseconds) =>
        new(name, EventStreamHeaderType.Timestamp, unixMilliseconds, null, default);

    public static EventStreamHeader Uuid(string name, Guid value) => new(name, EventStreamHeaderType.Uuid, 0, null, value);

    /// <summary>Boolean value (types 0 and 1).</summary>
    public bool AsBool() => Type switch
    {
        EventStreamHeaderType.BoolTrue => true,
        EventStreamHeaderType.BoolFalse => false,
        _ => throw WrongType("bool"),
    };

    /// <summary>Integer value of the integer types and of <see cref="EventStreamHeaderType.Timestamp"/> (milliseconds).</summary>
    public long AsInt64() => Type is EventStreamHeaderType.Byte or EventStreamHeaderType.Int16 or EventStreamHeaderType.Int32
        or EventStreamHeaderType.Int64 or EventStreamHeaderType.Timestamp
        ? _integer
        : throw WrongType("integer");

    /// <summary>Raw bytes of a string or byte-array value.</summary>
    public ReadOnlySpan<byte> AsBytes() => Type is EventStreamHeaderType.String or EventStreamHeaderType.ByteArray
        ? _bytes
        : throw WrongType("bytes");

    /// <summary>String value (UTF-8 decoded).</summary>
    public string AsString() => Type == EventStreamHeaderType.String ? Encoding.UTF8.GetString(_bytes!) : throw WrongType("string");

    /// <summary>UUID value; the 16 wire bytes are read big-endian, so the text form matches the byte order.</summary>
    public Guid AsUuid() => Type == EventStreamHeaderType.Uuid ? _uuid : throw WrongType("uuid");

    /// <summary>Bytes this header takes on the wire.</summary>
    public int EncodedLength => 1 + Encoding.UTF8.GetByteCount(Name) + 1 + Type switch
    {
        EventStreamHeaderType.BoolTrue or EventStreamHeaderType.BoolFalse => 0,
        EventStreamHeaderType.Byte => 1,
        EventStreamHeaderType.Int16 => 2,
        EventStreamHeaderType.Int32 => 4,
        EventStreamHeaderType.Int64 or EventStreamHeaderType.Timestamp => 8,
        EventStreamHeaderType.ByteArray or EventStreamHeaderType.String => 2 + _bytes!.Length,
        EventStreamHeaderType.Uuid => 16,
        _ => throw new InvalidOperationException("unknown header type"),
    };

    internal long RawInteger => _integer;

    internal ReadOnlySpan<byte> RawBytes => _bytes;

    internal Guid RawUuid => _uuid;

    internal static EventStreamHeader FromWire(string name, EventStreamHeaderType type, long integer, byte[]? bytes, Guid uuid) =>
        new(name, type, integer, bytes, uuid);

    private InvalidOperationException WrongType(string wanted) =>
        new($"event-stream header '{Name}' is of type {Type}, not {wanted}");

    public bool Equals(EventStreamHeader other) =>
        Name == other.Name && Type == other.Type && _integer == other._integer && _uuid == other._uuid
        && ((ReadOnlySpan<byte>)_bytes).SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => obj is EventStreamHeader other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Name, Type, _integer, _uuid);

    public static bool operator ==(EventStreamHeader left, EventStreamHeader right) => left.Equals(right);

    public static bool operator !=(EventStreamHeader left, EventStreamHeader right) => !left.Equals(right);

    /// <summary>Name and type only: values may be credentials or content.</summary>
    public override string ToString() => $"{Name} ({Type})";
}
