using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;

namespace Airlock.Protocols.Aws.EventStream;

/// <summary>Receives decoded frames from an <see cref="EventStreamDecoder"/>.</summary>
public interface IEventStreamFrameHandler
{
    /// <summary>One complete, checked frame; the spans are valid only during the call.</summary>
    void OnFrame(EventStreamFrame frame);
}

/// <summary>
/// Incremental decoder for <c>application/vnd.amazon.eventstream</c>. Feed it the response body in whatever chunks the
/// socket delivers; each complete frame is checked (prelude CRC as soon as 12 bytes are there, then the message CRC and
/// the header block) and handed to the handler. A frame that breaks a rule throws <see cref="EventStreamFormatException"/>
/// naming the rule, and the decoder stays faulted.
/// </summary>
/// <remarks>
/// Frame layout (big-endian): <c>total_len:u32 headers_len:u32 prelude_crc:u32 headers payload message_crc:u32</c>, both CRCs
/// CRC-32/IEEE, the message CRC covering every byte before it (awslabs/aws-c-event-stream, smithy-rs aws-smithy-eventstream).
/// Hand-written rather than AWSSDK.Core's <c>EventStreamDecoder</c>/<c>EventStreamMessage.FromBuffer</c>: those copy every
/// frame into new arrays, box headers into a dictionary, and their <c>ProcessData(data, offset, length)</c> treats
/// <c>length</c> as an end index. Here complete frames are read in place from the caller's chunk and only a frame split
/// across chunks is copied (into one pooled buffer); see <c>bench/Airlock.Benchmarks/AwsBenchmarks.cs</c> and
/// docs/benchmarks.md for the measured difference.
/// </remarks>
public sealed class EventStreamDecoder : IDisposable
{
    /// <summary>Prelude (12) plus message CRC (4): the smallest possible frame.</summary>
    public const int MinimumMessageLength = 16;

    /// <summary>Default frame size limit: 24 MiB, the largest frame aws-c-event-stream accepts.</summary>
    public const int DefaultMaxMessageLength = 24 * 1024 * 1024;

    /// <summary>Default header block limit: 128 KiB (smithy-rs and aws-c-event-stream use the same).</summary>
    public const int DefaultMaxHeadersLength = 128 * 1024;

    private const int PreludeLength = 12;

    private readonly int _maxMessageLength;
    private readonly int _maxHeadersLength;
    private byte[]? _partial;
    private int _partialLength;
    private int _partialTotal;
    private long _frameIndex;
    private long _streamOffset;
    private bool _faulted;

    /// <summary>Creates a decoder with frame and header-block size limits.</summary>
    public EventStreamDecoder(int maxMessageLength = DefaultMaxMessageLength, int maxHeadersLength = DefaultMaxHeadersLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageLength, MinimumMessageLength);
        ArgumentOutOfRangeException.ThrowIfNegative(maxHeadersLength);
        _maxMessageLength = maxMessageLength;
        _maxHeadersLength = maxHeadersLength;
    }

    /// <summary>Frames decoded so far.</summary>
    public long FramesDecoded => _frameIndex;

    /// <summary>True when bytes of an incomplete frame are buffered.</summary>
    public bool HasPartialFrame => _partialLength > 0;

    /// <summary>Decodes <paramref name="chunk"/>, calling <paramref name="handler"/> for every frame it completes.</summary>
    /// <exception cref="EventStreamFormatException">A frame is corrupt or over a limit.</exception>
    public void Feed(ReadOnlySpan<byte> chunk, IEventStreamFrameHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (_faulted)
        {
            throw new InvalidOperationException("the event-stream decoder already reported a corrupt frame");
        }
        try
        {
            if (_partialLength > 0)
            {
                chunk = ContinuePartial(chunk, handler);
            }
            while (!chunk.IsEmpty)
            {
                if (chunk.Length < PreludeLength)
                {
                    StartPartial(chunk, 0);
                    return;
                }
                var total = CheckPrelude(chunk);
                if (chunk.Length < total)
                {
                    StartPartial(chunk, total);
                    return;
                }
                Emit(chunk[..total], handler);
                chunk = chunk[total..];
            }
        }
        catch (EventStreamFormatException)
        {
            _faulted = true;
            throw;
        }
    }

    /// <summary>Call at the end of the body: throws when the stream stopped inside a frame.</summary>
    public void Complete()
    {
        if (_partialLength > 0)
        {
            _faulted = true;
            var expected = _partialTotal > 0 ? _partialTotal.ToString(System.Globalization.CultureInfo.InvariantCulture) : "at least 12";
            throw new EventStreamFormatException(EventStreamError.Truncated, _frameIndex, _streamOffset,
                $"stream ended inside a frame ({_partialLength} of {expected} bytes)");
        }
    }

    /// <summary>Decodes a whole buffer into messages (tests, small bodies); throws on corrupt or truncated input.</summary>
    public static IReadOnlyList<EventStreamMessage> DecodeAll(ReadOnlySpan<byte> bytes)
    {
        using var decoder = new EventStreamDecoder();
        var collector = new MessageCollector();
        decoder.Feed(bytes, collector);
        decoder.Complete();
        return collector.Messages;
    }

    public void Dispose()
    {
        if (_partial is not null)
        {
            ArrayPool<byte>.Shared.Return(_partial);
            _partial = null;
        }
        _partialLength = 0;
    }

    private ReadOnlySpan<byte> ContinuePartial(ReadOnlySpan<byte> chunk, IEventStreamFrameHandler handler)
    {
        if (_partialTotal == 0)
        {
            var take = Math.Min(PreludeLength - _partialLength, chunk.Length);
            chunk[..take].CopyTo(_partial.AsSpan(_partialLength));
            _partialLength += take;
            chunk = chunk[take..];
            if (_partialLength < PreludeLength)
            {
                return chunk;
            }
            _partialTotal = CheckPrelude(_partial.AsSpan(0, PreludeLength));
            Grow(_partialTotal);
        }
        var need = Math.Min(_partialTotal - _partialLength, chunk.Length);
        chunk[..need].CopyTo(_partial.AsSpan(_partialLength));
        _partialLength += need;
        chunk = chunk[need..];
        if (_partialLength == _partialTotal)
        {
            var total = _partialTotal;
            _partialLength = 0;
            _partialTotal = 0;
            Emit(_partial.AsSpan(0, total), handler);
        }
        return chunk;
    }

    private void StartPartial(ReadOnlySpan<byte> chunk, int total)
    {
        Grow(Math.Max(total, PreludeLength));
        chunk.CopyTo(_partial);
        _partialLength = chunk.Length;
        _partialTotal = total;
    }

    private void Grow(int size)
    {
        if (_partial is null)
        {
            _partial = ArrayPool<byte>.Shared.Rent(Math.Max(size, 4096));
        }
        else if (_partial.Length < size)
        {
            var larger = ArrayPool<byte>.Shared.Rent(size);
            _partial.AsSpan(0, _partialLength).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_partial);
            _partial = larger;
        }
    }

    /// <summary>Checks the 12-byte prelude; returns the total length.</summary>
    private int CheckPrelude(ReadOnlySpan<byte> prelude)
    {
        var total = BinaryPrimitives.ReadUInt32BigEndian(prelude);
        var headers = BinaryPrimitives.ReadUInt32BigEndian(prelude[4..]);
        var expectedCrc = BinaryPrimitives.ReadUInt32BigEndian(prelude[8..]);
        var actualCrc = Crc32.HashToUInt32(prelude[..8]);
        // The CRC first: a flipped length bit must read as corruption, not as a huge frame to wait for.
        if (actualCrc != expectedCrc)
        {
            throw Fail(EventStreamError.PreludeChecksumMismatch, $"prelude CRC mismatch (computed 0x{actualCrc:x8}, frame carries 0x{expectedCrc:x8})");
        }
        if (total < MinimumMessageLength)
        {
            throw Fail(EventStreamError.MessageTooShort, $"total length {total} is below the {MinimumMessageLength}-byte minimum");
        }
        if (total > (uint)_maxMessageLength)
        {
            throw Fail(EventStreamError.MessageTooLong, $"total length {total} exceeds the {_maxMessageLength}-byte limit");
        }
        if (headers > total - MinimumMessageLength)
        {
            throw Fail(EventStreamError.InvalidHeadersLength, $"headers length {headers} does not fit in a {total}-byte message");
        }
        if (headers > (uint)_maxHeadersLength)
        {
            throw Fail(EventStreamError.InvalidHeadersLength, $"headers length {headers} exceeds the {_maxHeadersLength}-byte limit");
        }
        return (int)total;
    }

    private void Emit(ReadOnlySpan<byte> message, IEventStreamFrameHandler handler)
    {
        var expectedCrc = BinaryPrimitives.ReadUInt32BigEndian(message[^4..]);
        var actualCrc = Crc32.HashToUInt32(message[..^4]);
        if (actualCrc != expectedCrc)
        {
            throw Fail(EventStreamError.MessageChecksumMismatch, $"message CRC mismatch (computed 0x{actualCrc:x8}, frame carries 0x{expectedCrc:x8})");
        }
        var headersLength = (int)BinaryPrimitives.ReadUInt32BigEndian(message[4..]);
        var headers = message.Slice(PreludeLength, headersLength);
        ValidateHeaders(headers);
        var payload = message[(PreludeLength + headersLength)..^4];
        _frameIndex++;
        _streamOffset += message.Length;
        handler.OnFrame(new EventStreamFrame(headers, payload));
    }

    private void ValidateHeaders(ReadOnlySpan<byte> headers)
    {
        var position = 0;
        while (position < headers.Length)
        {
            var nameLength = headers[position];
            if (nameLength == 0 || position + 1 + nameLength + 1 > headers.Length)
            {
                throw Fail(EventStreamError.InvalidHeaderNameLength,
                    $"header at offset {position} of the header block has name length {nameLength}, which does not fit the {headers.Length}-byte block");
            }
            var typeCode = headers[position + 1 + nameLength];
            if (typeCode > (byte)EventStreamHeaderType.Uuid)
            {
                throw Fail(EventStreamError.InvalidHeaderValueType, $"header at offset {position} of the header block has unknown value type 0x{typeCode:x2}");
            }
            var valueStart = position + 2 + nameLength;
            var rest = headers[valueStart..];
            var type = (EventStreamHeaderType)typeCode;
            if ((type is EventStreamHeaderType.ByteArray or EventStreamHeaderType.String) && rest.Length < 2)
            {
                throw Fail(EventStreamError.InvalidHeaderValue, $"header at offset {position} of the header block is cut off before its value length");
            }
            var (prefix, length) = ValueLayout(type, rest);
            if (prefix + length > rest.Length)
            {
                throw Fail(EventStreamError.InvalidHeaderValue,
                    $"header at offset {position} of the header block has a {type} value of {length} bytes, past the end of the block");
            }
            position = valueStart + prefix + length;
        }
    }

    /// <summary>Length-prefix size and value size of a header value of <paramref name="type"/>.</summary>
    internal static (int Prefix, int Length) ValueLayout(EventStreamHeaderType type, ReadOnlySpan<byte> value) => type switch
    {
        EventStreamHeaderType.BoolTrue or EventStreamHeaderType.BoolFalse => (0, 0),
        EventStreamHeaderType.Byte => (0, 1),
        EventStreamHeaderType.Int16 => (0, 2),
        EventStreamHeaderType.Int32 => (0, 4),
        EventStreamHeaderType.Int64 or EventStreamHeaderType.Timestamp => (0, 8),
        EventStreamHeaderType.ByteArray or EventStreamHeaderType.String => (2, BinaryPrimitives.ReadUInt16BigEndian(value)),
        EventStreamHeaderType.Uuid => (0, 16),
        _ => throw new InvalidOperationException("unknown header type"),
    };

    private EventStreamFormatException Fail(EventStreamError error, string detail) => new(error, _frameIndex, _streamOffset, detail);

    private sealed class MessageCollector : IEventStreamFrameHandler
    {
        public List<EventStreamMessage> Messages { get; } = [];

        public void OnFrame(EventStreamFrame frame) => Messages.Add(frame.ToMessage());
    }
}
