using System.Buffers;
using System.Text;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Aws.EventStream;
using Airlock.Protocols.Messages;

namespace Airlock.Tests.Aws;

public class BedrockFramesTests
{
    [Fact]
    public void Chunk_frame_matches_the_bedrock_example_bytes()
    {
        // wire-protocols reference §1.1: {"type":"message_stop"} as Bedrock frames it (Python botocore decoding checked):
        // total 0x87, headers 0x4b, prelude CRC 0x87ea2bf3, message CRC 0xba48ab22.
        var buffer = new ArrayBufferWriter<byte>();
        BedrockFrames.WriteChunk(buffer, "{\"type\":\"message_stop\"}"u8);
        var hex = Convert.ToHexStringLower(buffer.WrittenSpan);
        Assert.StartsWith("000000870000004b87ea2bf30b3a6576656e742d747970650700056368756e6b", hex, StringComparison.Ordinal);
        Assert.EndsWith("ba48ab22", hex, StringComparison.Ordinal);
        var message = Assert.Single(EventStreamDecoder.DecodeAll(buffer.WrittenSpan));
        Assert.Equal("{\"bytes\":\"eyJ0eXBlIjoibWVzc2FnZV9zdG9wIn0=\"}", Encoding.UTF8.GetString(message.Payload.Span));
        Assert.Equal("chunk", message.GetString(":event-type"));
        Assert.Equal("application/json", message.GetString(":content-type"));
        Assert.Equal("event", message.GetString(":message-type"));
    }

    private static readonly string[] s_events =
    [
        "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_bdrk_01\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}",
        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello \\u00e9\\n\"}}",
        "{\"type\":\"content_block_stop\",\"index\":0}",
        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}",
        "{\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":{\"inputTokenCount\":5,\"outputTokenCount\":3,\"invocationLatency\":9,\"firstByteLatency\":4}}",
    ];

    private static byte[] BedrockBody(params string[] events)
    {
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var e in events)
        {
            BedrockFrames.WriteChunk(buffer, Encoding.UTF8.GetBytes(e));
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static string ExpectedSse(params string[] events) =>
        string.Concat(events.Select(e => $"event: {System.Text.Json.JsonDocument.Parse(e).RootElement.GetProperty("type").GetString()}\ndata: {e}\n\n"));

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(17)]
    [InlineData(4096)]
    public void Bedrock_stream_becomes_messages_sse_byte_for_byte_at_any_chunking(int chunkSize)
    {
        var body = BedrockBody(s_events);
        using var translator = new BedrockFramesToSse();
        var sse = new ArrayBufferWriter<byte>();
        for (var offset = 0; offset < body.Length; offset += chunkSize)
        {
            translator.Feed(body.AsSpan(offset, Math.Min(chunkSize, body.Length - offset)), sse);
        }
        translator.Complete();
        Assert.Equal(ExpectedSse(s_events), Encoding.UTF8.GetString(sse.WrittenSpan));
        Assert.True(translator.SawMessageStop);
        Assert.Null(translator.Error);
        Assert.Equal(6, translator.EventCount);
    }

    [Theory]
    [InlineData("throttlingException", "rate_limit_error")]
    [InlineData("modelStreamErrorException", "api_error")]
    [InlineData("validationException", "invalid_request_error")]
    [InlineData("internalServerException", "api_error")]
    [InlineData("serviceUnavailableException", "overloaded_error")]
    [InlineData("modelTimeoutException", "api_error")]
    public void Exception_frames_become_sse_error_events_with_the_mapped_type(string exceptionType, string anthropicType)
    {
        var buffer = new ArrayBufferWriter<byte>();
        BedrockFrames.WriteChunk(buffer, Encoding.UTF8.GetBytes(s_events[0]));
        EventStreamWriter.WriteException(buffer, Encoding.UTF8.GetBytes(exceptionType), "{\"message\":\"Too many tokens, please wait.\",\"originalStatusCode\":429}"u8);
        using var translator = new BedrockFramesToSse();
        var sse = new ArrayBufferWriter<byte>();
        translator.Feed(buffer.WrittenSpan, sse);
        var text = Encoding.UTF8.GetString(sse.WrittenSpan);
        Assert.EndsWith($"event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"{anthropicType}\",\"message\":\"Too many tokens, please wait.\"}}}}\n\n",
            text, StringComparison.Ordinal);
        Assert.Equal(new BedrockStreamError(anthropicType, exceptionType, "Too many tokens, please wait."), translator.Error);
        Assert.False(translator.SawMessageStop);
    }

    [Fact]
    public void Error_frames_and_unknown_event_types_are_handled()
    {
        var buffer = new ArrayBufferWriter<byte>();
        EventStreamWriter.WriteEvent(buffer, "futureEvent"u8, "application/json"u8, "{}"u8);
        EventStreamWriter.WriteError(buffer, "InternalFailure", "broken");
        using var translator = new BedrockFramesToSse();
        var sse = new ArrayBufferWriter<byte>();
        translator.Feed(buffer.WrittenSpan, sse);
        Assert.Equal(Encoding.UTF8.GetString(AnthropicErrors.SseEvent("api_error", "broken")), Encoding.UTF8.GetString(sse.WrittenSpan));
        Assert.Equal("InternalFailure", translator.Error!.BedrockType);
    }

    [Fact]
    public void A_chunk_without_bytes_becomes_an_error_event()
    {
        var buffer = new ArrayBufferWriter<byte>();
        EventStreamWriter.WriteEvent(buffer, "chunk"u8, "application/json"u8, "{\"bytes\":\"***\"}"u8);
        using var translator = new BedrockFramesToSse();
        var sse = new ArrayBufferWriter<byte>();
        translator.Feed(buffer.WrittenSpan, sse);
        Assert.StartsWith("event: error\n", Encoding.UTF8.GetString(sse.WrittenSpan), StringComparison.Ordinal);
        Assert.Equal("invalidChunk", translator.Error!.BedrockType);
    }

    [Fact]
    public void Pretty_printed_event_json_stays_one_sse_event()
    {
        using var translator = new BedrockFramesToSse();
        var sse = new ArrayBufferWriter<byte>();
        translator.Feed(BedrockBody("{\n\"type\": \"ping\"\n}"), sse);
        Assert.Equal("event: ping\ndata: {\ndata: \"type\": \"ping\"\ndata: }\n\n", Encoding.UTF8.GetString(sse.WrittenSpan));
    }

    [Fact]
    public void Corrupt_and_truncated_streams_throw_precise_errors()
    {
        var body = BedrockBody(s_events);
        body[40] ^= 0xFF;
        using var corrupt = new BedrockFramesToSse();
        Assert.Equal(EventStreamError.MessageChecksumMismatch,
            Assert.Throws<EventStreamFormatException>(() => corrupt.Feed(body, new ArrayBufferWriter<byte>())).Error);

        var whole = BedrockBody(s_events);
        using var truncated = new BedrockFramesToSse();
        truncated.Feed(whole.AsSpan(0, whole.Length - 3), new ArrayBufferWriter<byte>());
        Assert.Equal(EventStreamError.Truncated, Assert.Throws<EventStreamFormatException>(truncated.Complete).Error);
    }

    [Fact]
    public void Messages_sse_becomes_bedrock_chunks_and_back_unchanged()
    {
        var sse = Encoding.UTF8.GetBytes(ExpectedSse(s_events).Replace("event: content_block_stop", ": keep-alive comment\nevent: content_block_stop", StringComparison.Ordinal));
        using var toFrames = new SseToBedrockFrames();
        var frames = new ArrayBufferWriter<byte>();
        for (var offset = 0; offset < sse.Length; offset += 7)
        {
            toFrames.Feed(sse.AsSpan(offset, Math.Min(7, sse.Length - offset)), frames);
        }
        Assert.True(toFrames.SawMessageStop);
        Assert.Equal(6, toFrames.EventCount);
        var messages = EventStreamDecoder.DecodeAll(frames.WrittenSpan);
        Assert.Equal(6, messages.Count);
        using var back = new BedrockFramesToSse();
        var again = new ArrayBufferWriter<byte>();
        back.Feed(frames.WrittenSpan, again);
        Assert.Equal(ExpectedSse(s_events), Encoding.UTF8.GetString(again.WrittenSpan));
    }

    [Theory]
    [InlineData("rate_limit_error", "throttlingException")]
    [InlineData("overloaded_error", "serviceUnavailableException")]
    [InlineData("invalid_request_error", "validationException")]
    [InlineData("api_error", "internalServerException")]
    public void Sse_error_event_becomes_an_exception_frame(string anthropicType, string exceptionType)
    {
        using var toFrames = new SseToBedrockFrames();
        var frames = new ArrayBufferWriter<byte>();
        toFrames.Feed(AnthropicErrors.SseEvent(anthropicType, "Overloaded, try later"), frames);
        var message = Assert.Single(EventStreamDecoder.DecodeAll(frames.WrittenSpan));
        Assert.Equal("exception", message.GetString(":message-type"));
        Assert.Equal(exceptionType, message.GetString(":exception-type"));
        Assert.Equal("{\"message\":\"Overloaded, try later\"}", Encoding.UTF8.GetString(message.Payload.Span));
        Assert.True(toFrames.SawError);
    }

    [Theory]
    [InlineData(400, null, "invalid_request_error")]
    [InlineData(400, "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/", "invalid_request_error")]
    [InlineData(403, "AccessDeniedException", "permission_error")]
    [InlineData(403, "UnrecognizedClientException", "authentication_error")]
    [InlineData(404, "ResourceNotFoundException", "not_found_error")]
    [InlineData(429, "ThrottlingException", "rate_limit_error")]
    [InlineData(424, "ModelErrorException", "api_error")]
    [InlineData(503, "ServiceUnavailableException", "overloaded_error")]
    [InlineData(500, null, "api_error")]
    public void Http_errors_map_to_anthropic_types(int status, string? errorType, string expected)
    {
        Assert.Equal(expected, BedrockErrors.AnthropicTypeForHttpError(status, errorType));
        var body = BedrockErrors.ToAnthropicErrorBody(status, errorType, "{\"message\":\"why\"}"u8);
        Assert.Equal($"{{\"type\":\"error\",\"error\":{{\"type\":\"{expected}\",\"message\":\"why\"}}}}", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public void Anthropic_types_map_to_bedrock_http_shapes()
    {
        Assert.Equal(new BedrockErrorShape(429, "ThrottlingException", "throttlingException"), BedrockErrors.ForAnthropicType("rate_limit_error"));
        Assert.Equal(400, BedrockErrors.ForAnthropicType("invalid_request_error").Status);
        Assert.Equal(404, BedrockErrors.ForAnthropicType("not_found_error").Status);
        Assert.Equal(503, BedrockErrors.ForAnthropicType("overloaded_error").Status);
        Assert.Equal(500, BedrockErrors.ForAnthropicType("api_error").Status);
        Assert.Equal("{\"message\":\"a \\\"b\\\"\"}", Encoding.UTF8.GetString(BedrockErrors.Body("a \"b\"")));
        Assert.Contains("\"message\":\"Bedrock returned HTTP 502\"", AnthropicErrors.ToText(BedrockErrors.ToAnthropicErrorBody(502, null, "<html>"u8)), StringComparison.Ordinal);
    }
}
