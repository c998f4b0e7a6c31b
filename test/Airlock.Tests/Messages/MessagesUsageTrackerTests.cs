using System.Text;
using Airlock.Protocols.Messages;
using Airlock.Protocols.Sse;

namespace Airlock.Tests.Messages;

public sealed class MessagesUsageTrackerTests
{
    // Shapes from https://docs.anthropic.com/en/docs/build-with-claude/streaming (values invented).
    private const string MessageStart =
        "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[]," +
        "\"model\":\"claude-opus-5-5\",\"stop_reason\":null,\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":12," +
        "\"cache_read_input_tokens\":9000,\"cache_creation\":{\"ephemeral_5m_input_tokens\":12},\"output_tokens\":1,\"service_tier\":\"standard\"}}}";

    private const string MessageDelta =
        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":315}}";

    private static string Stream(params (string Name, string Data)[] events) =>
        string.Concat(events.Select(e => $"event: {e.Name}\ndata: {e.Data}\n\n"));

    private static MessagesUsageTracker Track(string sse, int chunkSize = int.MaxValue)
    {
        var tracker = new MessagesUsageTracker();
        using var parser = new SseEventParser();
        foreach (var chunk in Encoding.UTF8.GetBytes(sse).Chunk(Math.Min(chunkSize, Math.Max(1, Encoding.UTF8.GetByteCount(sse)))))
        {
            parser.Feed(chunk, tracker);
        }
        return tracker;
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(7)]
    [InlineData(1)]
    public void Reads_usage_from_a_complete_stream(int chunkSize)
    {
        var tracker = Track(Stream(
            ("message_start", MessageStart),
            ("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"),
            ("ping", "{\"type\": \"ping\"}"),
            ("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}"),
            ("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"),
            ("message_delta", MessageDelta),
            ("message_stop", "{\"type\":\"message_stop\"}")), chunkSize);

        Assert.Equal(472, tracker.InputTokens);
        Assert.Equal(315, tracker.OutputTokens);
        Assert.Equal(9000, tracker.CacheReadTokens);
        Assert.Equal(12, tracker.CacheCreationTokens);
        Assert.True(tracker.Completed);
        Assert.Null(tracker.StreamErrorType);
    }

    [Fact]
    public void Stream_without_message_stop_is_not_complete()
    {
        var tracker = Track(Stream(("message_start", MessageStart), ("message_delta", MessageDelta)));

        Assert.False(tracker.Completed);
        Assert.Equal(315, tracker.OutputTokens);
    }

    [Fact]
    public void Message_delta_may_update_input_tokens()
    {
        var tracker = Track(Stream(
            ("message_start", MessageStart),
            ("message_delta", "{\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"input_tokens\":480,\"output_tokens\":20,\"cache_read_input_tokens\":9100}}")));

        Assert.Equal(480, tracker.InputTokens);
        Assert.Equal(20, tracker.OutputTokens);
        Assert.Equal(9100, tracker.CacheReadTokens);
    }

    [Fact]
    public void Usage_keys_nested_inside_content_are_ignored()
    {
        const string start = "{\"type\":\"message_start\",\"message\":{\"content\":[{\"type\":\"tool_use\",\"input\":{\"usage\":{\"input_tokens\":999999}}}]," +
            "\"metadata\":{\"usage\":{\"input_tokens\":888}},\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}";

        var tracker = Track(Stream(("message_start", start)));

        Assert.Equal(5, tracker.InputTokens);
    }

    [Fact]
    public void In_stream_error_records_its_type()
    {
        var tracker = Track(Stream(
            ("message_start", MessageStart),
            ("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}")));

        Assert.Equal("overloaded_error", tracker.StreamErrorType);
        Assert.False(tracker.Completed);
    }

    [Fact]
    public void Unreadable_error_event_still_counts_as_an_error()
    {
        Assert.Equal("error", Track(Stream(("error", "{not json"))).StreamErrorType);
    }

    [Fact]
    public void Malformed_or_odd_usage_leaves_values_unknown_without_throwing()
    {
        var tracker = Track(Stream(
            ("message_start", "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":\"many\",\"output_tokens\":null,\"cache_read_input_tokens\":1.5}}}"),
            ("message_delta", "{\"usage\":{\"output_tokens\":"),
            ("message_delta", "{\"usage\":[1,2]}")));

        Assert.Null(tracker.InputTokens);
        Assert.Null(tracker.OutputTokens);
        Assert.Null(tracker.CacheReadTokens);
    }

    [Fact]
    public void Reads_usage_from_a_non_streamed_message()
    {
        var tracker = new MessagesUsageTracker();

        tracker.ReadMessage("""
            {"id":"msg_1","type":"message","content":[{"type":"text","text":"{\"usage\":{\"input_tokens\":1}}"}],
             "usage":{"input_tokens":31,"output_tokens":7,"cache_read_input_tokens":2,"cache_creation_input_tokens":3}}
            """u8);

        Assert.Equal(31, tracker.InputTokens);
        Assert.Equal(7, tracker.OutputTokens);
        Assert.Equal(2, tracker.CacheReadTokens);
        Assert.Equal(3, tracker.CacheCreationTokens);
        Assert.True(tracker.Completed);
    }
}
