using System.Buffers;
using Airlock.Protocols.Aws.EventStream;

namespace Airlock.Tests.Aws;

/// <summary>
/// Public event-stream test vectors. Bytes of the awslabs/aws-c-event-stream vectors are copied from
/// <c>tests/message_deserializer_test.c</c> and <c>tests/message_streaming_decoder_test.c</c>; the smithy-rs vector <c>valid_with_all_headers_and_payload</c>
/// (<c>rust-runtime/aws-smithy-eventstream/test_data/</c>) is rebuilt from the header list its tests assert
/// (<c>src/frame.rs</c> <c>read_all_headers_and_payload</c>) and checked against its published CRCs
/// (prelude 0x8BB495FB, message 0x01A05860, from the <c>invalid_*_checksum</c> expectations) and length (150 bytes).
/// </summary>
public class EventStreamVectorTests
{
    // aws-c-event-stream test_outgoing_no_op_valid: no headers, no payload.
    private static readonly byte[] s_noOp = [0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8, 0xff];

    // aws-c-event-stream test_outgoing_application_data_no_headers_valid: payload {'foo':'bar'}.
    private static readonly byte[] s_noHeaders =
    [
        0x00, 0x00, 0x00, 0x1D, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x52, 0x8c, 0x5a, 0x7b,
        0x27, 0x66, 0x6f, 0x6f, 0x27, 0x3a, 0x27, 0x62, 0x61, 0x72, 0x27, 0x7d, 0xc3, 0x65, 0x39, 0x36,
    ];

    // aws-c-event-stream test_outgoing_application_one_compressed_header_pair_valid: content-type: application/json.
    private static readonly byte[] s_oneHeader =
    [
        0x00, 0x00, 0x00, 0x3D, 0x00, 0x00, 0x00, 0x20, 0x07, 0xFD, 0x83, 0x96,
        0x0C, (byte)'c', (byte)'o', (byte)'n', (byte)'t', (byte)'e', (byte)'n', (byte)'t', (byte)'-', (byte)'t', (byte)'y', (byte)'p', (byte)'e',
        0x07, 0x00, 0x10, (byte)'a', (byte)'p', (byte)'p', (byte)'l', (byte)'i', (byte)'c', (byte)'a', (byte)'t', (byte)'i', (byte)'o', (byte)'n',
        (byte)'/', (byte)'j', (byte)'s', (byte)'o', (byte)'n',
        0x7b, 0x27, 0x66, 0x6f, 0x6f, 0x27, 0x3a, 0x27, 0x62, 0x61, 0x72, 0x27, 0x7d,
        0x8D, 0x9C, 0x08, 0xB1,
    ];

    // aws-c-event-stream tests/message_streaming_decoder_test.c,
    // test_streaming_decoder_incoming_application_one_int32_header_pair_valid: event-id (int32) = 0x20, no payload.
    private static readonly byte[] s_int32Header =
    [
        0x00, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x0e, 0x5d, 0x4a, 0xdb, 0x8d,
        0x08, (byte)'e', (byte)'v', (byte)'e', (byte)'n', (byte)'t', (byte)'-', (byte)'i', (byte)'d', 0x04, 0x00, 0x00, 0x00, 0x20,
        0x2a, 0x4f, 0xb0, 0xea,
    ];

    // The same file, test_streaming_decoder_incoming_application_one_bool_header_pair_valid: event-id (bool) = true.
    private static readonly byte[] s_boolHeader =
    [
        0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x0a, 0xaf, 0xa7, 0xb9, 0x54,
        0x08, (byte)'e', (byte)'v', (byte)'e', (byte)'n', (byte)'t', (byte)'-', (byte)'i', (byte)'d', 0x00,
        0x6a, 0x44, 0x14, 0xad,
    ];

    /// <summary>The header list of smithy-rs <c>valid_with_all_headers_and_payload</c>, in wire order.</summary>
    internal static EventStreamHeader[] AllHeaders() =>
    [
        EventStreamHeader.Bool("true", true),
        EventStreamHeader.Bool("false", false),
        EventStreamHeader.Byte("byte", 50),
        EventStreamHeader.Int16("short", 20_000),
        EventStreamHeader.Int32("int", 500_000),
        EventStreamHeader.Int64("long", 50_000_000_000),
        EventStreamHeader.ByteArray("bytes", "some bytes"u8.ToArray()),
        EventStreamHeader.String("str", "some str"),
        EventStreamHeader.Timestamp("time", 5_000_000_000),
        EventStreamHeader.Uuid("uuid", Guid.Parse("b79bc914-de21-4e13-b8b2-bc47e85b7f0b")),
    ];

    internal static byte[] AllHeadersVector() => EventStreamWriter.ToArray(AllHeaders(), "some payload"u8);

    [Fact]
    public void No_op_vector_decodes_with_no_headers_and_no_payload()
    {
        var message = Assert.Single(EventStreamDecoder.DecodeAll(s_noOp));
        Assert.Empty(message.Headers);
        Assert.True(message.Payload.IsEmpty);
        Assert.Equal(s_noOp, message.ToArray());
    }

    [Fact]
    public void No_headers_vector_decodes_and_reencodes_byte_identical()
    {
        var message = Assert.Single(EventStreamDecoder.DecodeAll(s_noHeaders));
        Assert.Empty(message.Headers);
        Assert.Equal("{'foo':'bar'}"u8.ToArray(), message.Payload.ToArray());
        Assert.Equal(s_noHeaders, message.ToArray());
    }

    [Fact]
    public void One_header_vector_decodes_and_reencodes_byte_identical()
    {
        var message = Assert.Single(EventStreamDecoder.DecodeAll(s_oneHeader));
        var header = Assert.Single(message.Headers);
        Assert.Equal("content-type", header.Name);
        Assert.Equal("application/json", header.AsString());
        Assert.Equal("{'foo':'bar'}"u8.ToArray(), message.Payload.ToArray());
        Assert.Equal(s_oneHeader, message.ToArray());
    }

    [Fact]
    public void Int32_header_vector_decodes_and_reencodes_byte_identical()
    {
        var message = Assert.Single(EventStreamDecoder.DecodeAll(s_int32Header));
        var header = Assert.Single(message.Headers);
        Assert.Equal("event-id", header.Name);
        Assert.Equal(EventStreamHeader.Int32("event-id", 0x20), header);
        Assert.Equal(0x20, header.AsInt64());
        Assert.True(message.Payload.IsEmpty);
        Assert.Equal(s_int32Header, message.ToArray());
    }

    [Fact]
    public void Bool_header_vector_decodes_true_and_reencodes_byte_identical()
    {
        var message = Assert.Single(EventStreamDecoder.DecodeAll(s_boolHeader));
        var header = Assert.Single(message.Headers);
        Assert.Equal("event-id", header.Name);
        Assert.True(header.AsBool());
        Assert.True(message.Payload.IsEmpty);
        Assert.Equal(s_boolHeader, message.ToArray());
    }

    [Fact]
    public void Two_messages_fed_seven_bytes_at_a_time_decode_in_order()
    {
        // aws-c-event-stream test_streaming_decoder_incoming_multiple_messages: the no-op message then the one-header
        // message, pumped in 7-byte reads so that reads straddle the message boundary and the second prelude.
        byte[] stream = [.. s_noOp, .. s_oneHeader];
        using var decoder = new EventStreamDecoder();
        var sink = new CollectingHandler();
        var fed = 0;
        while (fed < s_noOp.Length)
        {
            decoder.Feed(stream.AsSpan(fed, 7), sink);
            fed += 7;
        }
        // The first message is out once its last byte arrived; the second is not yet.
        var first = Assert.Single(sink.Messages);
        Assert.Empty(first.Headers);
        Assert.True(first.Payload.IsEmpty);
        while (fed < stream.Length)
        {
            var take = Math.Min(7, stream.Length - fed);
            decoder.Feed(stream.AsSpan(fed, take), sink);
            fed += take;
        }
        decoder.Complete();

        Assert.Equal(2, sink.Messages.Count);
        var second = sink.Messages[1];
        Assert.Equal("application/json", Assert.Single(second.Headers).AsString());
        Assert.Equal("{'foo':'bar'}"u8.ToArray(), second.Payload.ToArray());
        Assert.Equal(s_oneHeader, second.ToArray());
    }

    [Fact]
    public void All_headers_vector_has_the_published_length_and_checksums()
    {
        var bytes = AllHeadersVector();
        Assert.Equal(150, bytes.Length);
        Assert.Equal("000000960000007a" + "8bb495fb", Convert.ToHexStringLower(bytes.AsSpan(0, 12)));
        Assert.Equal("01a05860", Convert.ToHexStringLower(bytes.AsSpan(146, 4)));
        // The timestamp travels as milliseconds (0x000000012A05F200).
        Assert.Contains("0474696d6508000000012a05f200", Convert.ToHexStringLower(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void All_headers_vector_decodes_every_header_type()
    {
        var message = Assert.Single(EventStreamDecoder.DecodeAll(AllHeadersVector()));
        Assert.Equal(AllHeaders(), message.Headers);
        Assert.True(message.Headers[0].AsBool());
        Assert.False(message.Headers[1].AsBool());
        Assert.Equal(50, message.Headers[2].AsInt64());
        Assert.Equal(20_000, message.Headers[3].AsInt64());
        Assert.Equal(500_000, message.Headers[4].AsInt64());
        Assert.Equal(50_000_000_000, message.Headers[5].AsInt64());
        Assert.Equal("some bytes"u8.ToArray(), message.Headers[6].AsBytes().ToArray());
        Assert.Equal("some str", message.Headers[7].AsString());
        Assert.Equal(5_000_000_000, message.Headers[8].AsInt64());
        Assert.Equal(Guid.Parse("b79bc914-de21-4e13-b8b2-bc47e85b7f0b"), message.Headers[9].AsUuid());
        Assert.Equal("some payload"u8.ToArray(), message.Payload.ToArray());
    }

    [Fact]
    public void Invalid_prelude_checksum_vector_is_refused_naming_both_checksums()
    {
        // smithy-rs invalid_prelude_checksum: the valid frame with its prelude CRC replaced by 0xDEADBEEF.
        var bytes = AllHeadersVector();
        bytes[8] = 0xDE;
        bytes[9] = 0xAD;
        bytes[10] = 0xBE;
        bytes[11] = 0xEF;
        var error = Assert.Throws<EventStreamFormatException>(() => EventStreamDecoder.DecodeAll(bytes));
        Assert.Equal(EventStreamError.PreludeChecksumMismatch, error.Error);
        Assert.Contains("0x8bb495fb", error.Message, StringComparison.Ordinal);
        Assert.Contains("0xdeadbeef", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_message_checksum_vector_is_refused_naming_both_checksums()
    {
        // smithy-rs invalid_message_checksum: the valid frame with its message CRC replaced by 0xDEADBEEF.
        var bytes = AllHeadersVector();
        bytes[^4] = 0xDE;
        bytes[^3] = 0xAD;
        bytes[^2] = 0xBE;
        bytes[^1] = 0xEF;
        var error = Assert.Throws<EventStreamFormatException>(() => EventStreamDecoder.DecodeAll(bytes));
        Assert.Equal(EventStreamError.MessageChecksumMismatch, error.Error);
        Assert.Contains("0x01a05860", error.Message, StringComparison.Ordinal);
        Assert.Contains("0xdeadbeef", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_of_a_valid_frame_waits_for_more_bytes_then_reports_truncated()
    {
        // smithy-rs message_not_fully_available_yet: no prefix of a frame is an error, or a frame, until the end of the stream.
        var bytes = AllHeadersVector();
        for (var length = 0; length < bytes.Length; length++)
        {
            using var decoder = new EventStreamDecoder();
            var sink = new CollectingHandler();
            decoder.Feed(bytes.AsSpan(0, length), sink);
            Assert.Empty(sink.Messages);
            if (length > 0)
            {
                Assert.Equal(EventStreamError.Truncated, Assert.Throws<EventStreamFormatException>(decoder.Complete).Error);
            }
        }
    }

    [Fact]
    public void Encoder_matches_aws_sdk_net_for_the_same_message()
    {
        // AWSSDK.Core's EventStreamMessage as a second, independent encoder.
        var sdkHeaders = new List<Amazon.Runtime.EventStreams.IEventStreamHeader>();
        var header = new Amazon.Runtime.EventStreams.EventStreamHeader(":event-type");
        header.SetString("chunk");
        sdkHeaders.Add(header);
        var sdk = new Amazon.Runtime.EventStreams.EventStreamMessage(sdkHeaders, "{\"a\":1}"u8.ToArray()).ToByteArray();
        var ours = EventStreamWriter.ToArray([EventStreamHeader.String(":event-type", "chunk")], "{\"a\":1}"u8);
        Assert.Equal(sdk, ours);
    }

    internal sealed class CollectingHandler : IEventStreamFrameHandler
    {
        public List<EventStreamMessage> Messages { get; } = [];

        public void OnFrame(EventStreamFrame frame) => Messages.Add(frame.ToMessage());
    }
}
