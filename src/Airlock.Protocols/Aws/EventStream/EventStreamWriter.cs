using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Airlock.Protocols.Aws.EventStream;

/// <summary>
/// Encodes event-stream frames into an <see cref="IBufferWriter{T}"/>: the prelude, the headers, the payload and both
/// CRC-32s, written in place with no intermediate arrays. <see cref="WriteEvent"/>, <see cref="WriteException"/> and
/// <see cref="WriteError"/> write the three message types of the AWS event-stream RPC convention
/// (<c>:message-type</c> <c>event</c> / <c>exception</c> / <c>error</c>).
/// </summary>
public static class EventStreamWriter
{
    private const int PreludeLength = 12;

    /// <summary>Writes one frame with arbitrary headers.</summary>
    public static void Write(IBufferWriter<byte> output, IReadOnlyList<EventStreamHeader> headers, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(headers);
        var headersLength = 0;
        foreach (var header in headers)
        {
            headersLength += header.EncodedLength;
        }
        var frame = Begin(output, headersLength, payload.Length, out var total);
        var position = PreludeLength;
        foreach (var header in headers)
        {
            position += WriteHeader(frame[position..], header);
        }
        payload.CopyTo(frame[position..]);
        Finish(output, frame, total);
    }

    /// <summary>The encoded frame as a new array.</summary>
    public static byte[] ToArray(IReadOnlyList<EventStreamHeader> headers, ReadOnlySpan<byte> payload)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer, headers, payload);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// An <c>event</c> message: headers <c>:event-type</c>, <c>:content-type</c>, <c>:message-type</c>=<c>event</c>
    /// (in that order, as Bedrock sends them), then <paramref name="payload"/>.
    /// </summary>
    public static void WriteEvent(IBufferWriter<byte> output, ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(output);
        var headersLength = StringHeaderLength(EventStreamHeaderNames.EventType, eventType)
            + StringHeaderLength(EventStreamHeaderNames.ContentType, contentType)
            + StringHeaderLength(EventStreamHeaderNames.MessageType, "event"u8);
        var frame = Begin(output, headersLength, payload.Length, out var total);
        var position = PreludeLength;
        position += WriteStringHeader(frame[position..], EventStreamHeaderNames.EventType, eventType);
        position += WriteStringHeader(frame[position..], EventStreamHeaderNames.ContentType, contentType);
        position += WriteStringHeader(frame[position..], EventStreamHeaderNames.MessageType, "event"u8);
        payload.CopyTo(frame[position..]);
        Finish(output, frame, total);
    }

    /// <summary>
    /// An <c>exception</c> message (a modeled error such as Bedrock's <c>throttlingException</c>): headers
    /// <c>:exception-type</c>, <c>:content-type</c>=<c>application/json</c>, <c>:message-type</c>=<c>exception</c>, and the
    /// JSON payload (for Bedrock <c>{"message":"…"}</c>).
    /// </summary>
    public static void WriteException(IBufferWriter<byte> output, ReadOnlySpan<byte> exceptionType, ReadOnlySpan<byte> jsonPayload)
    {
        ArgumentNullException.ThrowIfNull(output);
        var headersLength = StringHeaderLength(EventStreamHeaderNames.ExceptionType, exceptionType)
            + StringHeaderLength(EventStreamHeaderNames.ContentType, "application/json"u8)
            + StringHeaderLength(EventStreamHeaderNames.MessageType, "exception"u8);
        var frame = Begin(output, headersLength, jsonPayload.Length, out var total);
        var position = PreludeLength;
        position += WriteStringHeader(frame[position..], EventStreamHeaderNames.ExceptionType, exceptionType);
        position += WriteStringHeader(frame[position..], EventStreamHeaderNames.ContentType, "application/json"u8);
        position += WriteStringHeader(frame[position..], EventStreamHeaderNames.MessageType, "exception"u8);
        jsonPayload.CopyTo(frame[position..]);
        Finish(output, frame, total);
    }

    /// <summary>
    /// An <c>error</c> message (an unmodeled failure): headers <c>:error-code</c>, <c>:error-message</c>,
    /// <c>:message-type</c>=<c>error</c>, empty payload.
    /// </summary>
    public static void WriteError(IBufferWriter<byte> output, string errorCode, string errorMessage)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(errorCode);
        ArgumentNullException.ThrowIfNull(errorMessage);
        var code = Encoding.UTF8.GetBytes(errorCode);
        var message = Encoding.UTF8.GetBytes(errorMessage);
        if (message.Length > ushort.MaxValue)
        {
            message = message.AsSpan(0, ushort.MaxValue).ToArray();
        }
        var headersLength = StringHeaderLength(EventStreamHeaderNames.ErrorCode, code)
            + StringHeaderLength(EventStreamHeaderNames.ErrorMessage, message)
            + StringHeaderLength(EventStreamHeaderNames.MessageType, "error"u8);
        var frame = Begin(output, headersLength, 0, out var total);
        var position = PreludeLength;
        position += WriteStringHeader(frame[position..], EventStreamHeaderNames.ErrorCode, code);
        position += WriteStringHeader(frame[position..], EventStreamHeaderNames.ErrorMessage, message);
        WriteStringHeader(frame[position..], EventStreamHeaderNames.MessageType, "error"u8);
        Finish(output, frame, total);
    }

    /// <summary>Bytes a string header takes on the wire.</summary>
    public static int StringHeaderLength(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => 1 + name.Length + 1 + 2 + value.Length;

    /// <summary>
    /// Reserves a frame of <paramref name="headersLength"/> + <paramref name="payloadLength"/> bytes and writes its prelude.
    /// The caller fills headers from offset 12 and the payload after them, then calls <see cref="Finish"/>.
    /// </summary>
    internal static Span<byte> Begin(IBufferWriter<byte> output, int headersLength, int payloadLength, out int total)
    {
        total = PreludeLength + headersLength + payloadLength + 4;
        var frame = output.GetSpan(total)[..total];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)total);
        BinaryPrimitives.WriteUInt32BigEndian(frame[4..], (uint)headersLength);
        BinaryPrimitives.WriteUInt32BigEndian(frame[8..], Crc32.HashToUInt32(frame[..8]));
        return frame;
    }

    /// <summary>Writes the message CRC and advances the writer.</summary>
    internal static void Finish(IBufferWriter<byte> output, Span<byte> frame, int total)
    {
        BinaryPrimitives.WriteUInt32BigEndian(frame[(total - 4)..], Crc32.HashToUInt32(frame[..(total - 4)]));
        output.Advance(total);
    }

    internal static int WriteStringHeader(Span<byte> destination, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.IsEmpty || name.Length > byte.MaxValue)
        {
            throw new ArgumentException("an event-stream header name is 1-255 bytes", nameof(name));
        }
        if (value.Length > ushort.MaxValue)
        {
            throw new ArgumentException("an event-stream header value is at most 65535 bytes", nameof(value));
        }
        destination[0] = (byte)name.Length;
        name.CopyTo(destination[1..]);
        destination[1 + name.Length] = (byte)EventStreamHeaderType.String;
        BinaryPrimitives.WriteUInt16BigEndian(destination[(2 + name.Length)..], (ushort)value.Length);
        value.CopyTo(destination[(4 + name.Length)..]);
        return 4 + name.Length + value.Length;
    }

    private static int WriteHeader(Span<byte> destination, EventStreamHeader header)
    {
        var name = Encoding.UTF8.GetBytes(header.Name);
        destination[0] = (byte)name.Length;
        name.CopyTo(destination[1..]);
        destination[1 + name.Length] = (byte)header.Type;
        var value = destination[(2 + name.Length)..];
        var written = header.Type switch
        {
            EventStreamHeaderType.BoolTrue or EventStreamHeaderType.BoolFalse => 0,
            EventStreamHeaderType.Byte => WriteByte(value, (byte)(sbyte)header.RawInteger),
            EventStreamHeaderType.Int16 => Write16(value, (short)header.RawInteger),
            EventStreamHeaderType.Int32 => Write32(value, (int)header.RawInteger),
            EventStreamHeaderType.Int64 or EventStreamHeaderType.Timestamp => Write64(value, header.RawInteger),
            EventStreamHeaderType.ByteArray or EventStreamHeaderType.String => WriteBytes(value, header.RawBytes),
            EventStreamHeaderType.Uuid => WriteUuid(value, header.RawUuid),
            _ => throw new InvalidOperationException("unknown header type"),
        };
        return 2 + name.Length + written;
    }

    private static int WriteByte(Span<byte> d, byte v)
    {
        d[0] = v;
        return 1;
    }

    private static int Write16(Span<byte> d, short v)
    {
        BinaryPrimitives.WriteInt16BigEndian(d, v);
        return 2;
    }

    private static int Write32(Span<byte> d, int v)
    {
        BinaryPrimitives.WriteInt32BigEndian(d, v);
        return 4;
    }

    private static int Write64(Span<byte> d, long v)
    {
        BinaryPrimitives.WriteInt64BigEndian(d, v);
        return 8;
    }

    private static int WriteBytes(Span<byte> d, ReadOnlySpan<byte> v)
    {
        BinaryPrimitives.WriteUInt16BigEndian(d, (ushort)v.Length);
        v.CopyTo(d[2..]);
        return 2 + v.Length;
    }

    private static int WriteUuid(Span<byte> d, Guid v)
    {
        v.TryWriteBytes(d, bigEndian: true, out _);
        return 16;
    }
}

/// <summary>Header names of the AWS event-stream RPC convention (UTF-8).</summary>
public static class EventStreamHeaderNames
{
    /// <summary><c>:message-type</c>: <c>event</c>, <c>exception</c> or <c>error</c>.</summary>
    public static ReadOnlySpan<byte> MessageType => ":message-type"u8;

    /// <summary><c>:event-type</c>: for Bedrock responses, <c>chunk</c>.</summary>
    public static ReadOnlySpan<byte> EventType => ":event-type"u8;

    /// <summary><c>:exception-type</c>: the modeled exception's name, e.g. <c>throttlingException</c>.</summary>
    public static ReadOnlySpan<byte> ExceptionType => ":exception-type"u8;

    /// <summary><c>:content-type</c> of the payload.</summary>
    public static ReadOnlySpan<byte> ContentType => ":content-type"u8;

    /// <summary><c>:error-code</c> of an <c>error</c> message.</summary>
    public static ReadOnlySpan<byte> ErrorCode => ":error-code"u8;

    /// <summary><c>:error-message</c> of an <c>error</c> message.</summary>
    public static ReadOnlySpan<byte> ErrorMessage => ":error-message"u8;
}
