using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using Airlock.Protocols.Aws.EventStream;

namespace Airlock.Tests.Aws;

public class EventStreamDecoderTests
{
    private static byte[] Frames(int count)
    {
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < count; i++)
        {
            EventStreamWriter.WriteEvent(buffer, "chunk"u8, "application/json"u8, System.Text.Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"));
        }
        return buffer.WrittenSpan.ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(64)]
    [InlineData(100_000)]
    public void Frames_split_at_any_chunk_size_decode_in_order(int chunkSize)
    {
        var bytes = Frames(20);
        using var decoder = new EventStreamDecoder();
        var sink = new EventStreamVectorTests.CollectingHandler();
        for (var offset = 0; offset < bytes.Length; offset += chunkSize)
        {
            decoder.Feed(bytes.AsSpan(offset, Math.Min(chunkSize, bytes.Length - offset)), sink);
        }
        decoder.Complete();
        Assert.Equal(20, sink.Messages.Count);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"{{\"n\":{i}}}", System.Text.Encoding.UTF8.GetString(sink.Messages[i].Payload.Span));
            Assert.Equal("chunk", sink.Messages[i].GetString(":event-type"));
            Assert.Equal("event", sink.Messages[i].GetString(":message-type"));
        }
        Assert.Equal(20, decoder.FramesDecoded);
    }

    [Fact]
    public void Every_single_bit_flip_is_detected_or_decodes_to_something_else_never_the_same_frame_silently()
    {
        var original = Frames(1);
        for (var bit = 0; bit < original.Length * 8; bit++)
        {
            var corrupt = (byte[])original.Clone();
            corrupt[bit / 8] ^= (byte)(1 << (bit % 8));
            // CRC-32 detects every single-bit error: each flip must be reported (as a CRC, length or truncation error).
            Assert.Throws<EventStreamFormatException>(() => EventStreamDecoder.DecodeAll(corrupt));
        }
    }

    [Fact]
    public void A_corrupt_second_frame_names_its_index_and_offset_and_faults_the_decoder()
    {
        var bytes = Frames(3);
        var second = BinaryPrimitives.ReadInt32BigEndian(bytes);
        bytes[second + 20] ^= 0x01; // a header byte of frame 1
        using var decoder = new EventStreamDecoder();
        var sink = new EventStreamVectorTests.CollectingHandler();
        var error = Assert.Throws<EventStreamFormatException>(() => decoder.Feed(bytes, sink));
        Assert.Equal(EventStreamError.MessageChecksumMismatch, error.Error);
        Assert.Equal(1, error.FrameIndex);
        Assert.Equal(second, error.StreamOffset);
        Assert.Contains($"frame 1 at byte {second}", error.Message, StringComparison.Ordinal);
        Assert.Single(sink.Messages);
        Assert.Throws<InvalidOperationException>(() => decoder.Feed(bytes, sink));
    }

    [Fact]
    public void Oversized_frame_is_refused_from_its_prelude_without_waiting_for_the_body()
    {
        var prelude = Prelude(total: 64 * 1024 * 1024, headers: 0);
        using var decoder = new EventStreamDecoder();
        var error = Assert.Throws<EventStreamFormatException>(() => decoder.Feed(prelude, new EventStreamVectorTests.CollectingHandler()));
        Assert.Equal(EventStreamError.MessageTooLong, error.Error);
    }

    [Fact]
    public void Configured_limit_applies()
    {
        var frame = Frames(1);
        using var decoder = new EventStreamDecoder(maxMessageLength: frame.Length - 1);
        Assert.Equal(EventStreamError.MessageTooLong,
            Assert.Throws<EventStreamFormatException>(() => decoder.Feed(frame, new EventStreamVectorTests.CollectingHandler())).Error);
    }

    [Fact]
    public void Total_length_below_minimum_is_refused()
    {
        Assert.Equal(EventStreamError.MessageTooShort,
            Assert.Throws<EventStreamFormatException>(() => EventStreamDecoder.DecodeAll(Prelude(total: 15, headers: 0).Concat(new byte[4]).ToArray())).Error);
    }

    [Fact]
    public void Headers_length_past_the_message_is_refused()
    {
        // smithy-rs invalid_headers_length category.
        Assert.Equal(EventStreamError.InvalidHeadersLength,
            Assert.Throws<EventStreamFormatException>(() => EventStreamDecoder.DecodeAll(Prelude(total: 20, headers: 5).Concat(new byte[8]).ToArray())).Error);
    }

    // The smithy-rs invalid_header_* vectors are binary files not stored in the reference index; these frames break the
    // same rules, with valid CRCs so the header check itself is what refuses them.
    [Theory]
    [InlineData(new byte[] { 0x00, 0x07, 0x00, 0x00 }, EventStreamError.InvalidHeaderNameLength)] // name length 0
    [InlineData(new byte[] { 0x09, (byte)'a', 0x07 }, EventStreamError.InvalidHeaderNameLength)] // invalid_header_name_length_too_long
    [InlineData(new byte[] { 0x01, (byte)'a', 0x60 }, EventStreamError.InvalidHeaderValueType)] // invalid_header_value_type (0x60)
    [InlineData(new byte[] { 0x01, (byte)'a', 0x07, 0x00, 0x05, (byte)'x' }, EventStreamError.InvalidHeaderValue)] // invalid_header_string_value_length
    [InlineData(new byte[] { 0x01, (byte)'a', 0x07, 0x00 }, EventStreamError.InvalidHeaderValue)] // invalid_header_string_length_cut_off
    [InlineData(new byte[] { 0x01, (byte)'a', 0x05, 0x00, 0x00 }, EventStreamError.InvalidHeaderValue)] // int64 cut off
    [InlineData(new byte[] { 0x01, (byte)'a', 0x09, 0x00 }, EventStreamError.InvalidHeaderValue)] // uuid cut off
    public void Invalid_header_blocks_are_refused_precisely(byte[] headers, EventStreamError expected)
    {
        var error = Assert.Throws<EventStreamFormatException>(() => EventStreamDecoder.DecodeAll(FrameWithRawHeaders(headers, "{}"u8.ToArray())));
        Assert.Equal(expected, error.Error);
        Assert.Contains("header", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_messages_never_quote_payload_bytes()
    {
        var frame = FrameWithRawHeaders([0x01, (byte)'a', 0x60], "AKIAIOSFODNN7EXAMPLE"u8.ToArray());
        var error = Assert.Throws<EventStreamFormatException>(() => EventStreamDecoder.DecodeAll(frame));
        Assert.DoesNotContain("AKIA", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Frame_view_reads_string_headers_without_copying()
    {
        var buffer = new ArrayBufferWriter<byte>();
        EventStreamWriter.WriteException(buffer, "throttlingException"u8, "{\"message\":\"slow down\"}"u8);
        using var decoder = new EventStreamDecoder();
        var probe = new ProbeHandler();
        decoder.Feed(buffer.WrittenSpan, probe);
        Assert.Equal("exception|throttlingException|application/json|{\"message\":\"slow down\"}", probe.Seen);
    }

    [Fact]
    public void Error_frames_carry_code_and_message_headers()
    {
        var buffer = new ArrayBufferWriter<byte>();
        EventStreamWriter.WriteError(buffer, "InternalFailure", "boom");
        var message = Assert.Single(EventStreamDecoder.DecodeAll(buffer.WrittenSpan));
        Assert.Equal("error", message.GetString(":message-type"));
        Assert.Equal("InternalFailure", message.GetString(":error-code"));
        Assert.Equal("boom", message.GetString(":error-message"));
        Assert.True(message.Payload.IsEmpty);
    }

    private static byte[] Prelude(int total, int headers)
    {
        var prelude = new byte[12];
        BinaryPrimitives.WriteInt32BigEndian(prelude, total);
        BinaryPrimitives.WriteInt32BigEndian(prelude.AsSpan(4), headers);
        BinaryPrimitives.WriteUInt32BigEndian(prelude.AsSpan(8), Crc32.HashToUInt32(prelude.AsSpan(0, 8)));
        return prelude;
    }

    private static byte[] FrameWithRawHeaders(byte[] headers, byte[] payload)
    {
        var total = 12 + headers.Length + payload.Length + 4;
        var frame = new byte[total];
        Prelude(total, headers.Length).CopyTo(frame, 0);
        headers.CopyTo(frame, 12);
        payload.CopyTo(frame, 12 + headers.Length);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(total - 4), Crc32.HashToUInt32(frame.AsSpan(0, total - 4)));
        return frame;
    }

    private sealed class ProbeHandler : IEventStreamFrameHandler
    {
        public string Seen { get; private set; } = "";

        public void OnFrame(EventStreamFrame frame)
        {
            Assert.True(frame.TryGetString(EventStreamHeaderNames.MessageType, out var type));
            Assert.True(frame.TryGetString(EventStreamHeaderNames.ExceptionType, out var exception));
            Assert.True(frame.TryGetString(EventStreamHeaderNames.ContentType, out var contentType));
            Assert.False(frame.TryGetString(EventStreamHeaderNames.EventType, out _));
            Seen = string.Join('|', System.Text.Encoding.UTF8.GetString(type), System.Text.Encoding.UTF8.GetString(exception),
                System.Text.Encoding.UTF8.GetString(contentType), System.Text.Encoding.UTF8.GetString(frame.Payload));
        }
    }
}
