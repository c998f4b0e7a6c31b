using System.Text;
using Airlock.Protocols.Sse;

namespace Airlock.Tests.Sse;

public sealed class SseEventParserTests
{
    // A stream with the features that matter: named events, a comment, a multi-line data field, a field
    // without a space after the colon, an unknown field, non-ASCII text and an unnamed event.
    private const string Stream =
        "event: message_start\ndata: {\"type\":\"message_start\"}\n\n" +
        ": keep-alive comment\n\n" +
        "event: content_block_delta\ndata: {\"text\":\"caf\u00e9 \ud83d\ude00\"}\nid: 7\nretry: 100\n\n" +
        "event:ping\ndata:{\"type\": \"ping\"}\n\n" +
        "data: line one\ndata: line two\ndata:\n\n" +
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    private static readonly (string, string)[] Expected =
    [
        ("message_start", "{\"type\":\"message_start\"}"),
        ("content_block_delta", "{\"text\":\"caf\u00e9 \ud83d\ude00\"}"),
        ("ping", "{\"type\": \"ping\"}"),
        ("", "line one\nline two\n"),
        ("message_stop", "{\"type\":\"message_stop\"}"),
    ];

    private static List<(string Type, string Data)> Parse(params byte[][] chunks)
    {
        var sink = new RecordingSink();
        using var parser = new SseEventParser();
        foreach (var chunk in chunks)
        {
            parser.Feed(chunk, sink);
        }
        return sink.Events;
    }

    private static byte[] Bytes(string text, string newline = "\n") => Encoding.UTF8.GetBytes(text.Replace("\n", newline, StringComparison.Ordinal));

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Parses_a_whole_stream_with_any_line_ending(string newline)
    {
        Assert.Equal(Expected, Parse(Bytes(Stream, newline)));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Same_events_when_split_at_every_byte_boundary(string newline)
    {
        var bytes = Bytes(Stream, newline);
        for (var split = 0; split <= bytes.Length; split++)
        {
            var events = Parse(bytes[..split], bytes[split..]);
            Assert.True(Expected.SequenceEqual(events), $"split at byte {split} ({newline.Replace("\r", "CR", StringComparison.Ordinal).Replace("\n", "LF", StringComparison.Ordinal)})");
        }
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Same_events_when_fed_one_byte_at_a_time(string newline)
    {
        var bytes = Bytes(Stream, newline);

        Assert.Equal(Expected, Parse(bytes.Select(b => new[] { b }).ToArray()));
    }

    [Fact]
    public void Same_events_when_split_at_every_pair_of_boundaries()
    {
        var bytes = Bytes(Stream, "\r\n");
        for (var first = 0; first <= bytes.Length; first += 3)
        {
            for (var second = first; second <= bytes.Length; second += 5)
            {
                Assert.Equal(Expected, Parse(bytes[..first], bytes[first..second], bytes[second..]));
            }
        }
    }

    [Fact]
    public void Mixed_line_endings_in_one_stream()
    {
        var events = Parse(Bytes("event: a\r\ndata: 1\r\rdata: 2\n\r\nevent: b\rdata: 3\n\n"));

        Assert.Equal([("a", "1"), ("", "2"), ("b", "3")], events);
    }

    [Fact]
    public void Event_without_its_closing_blank_line_is_not_dispatched()
    {
        Assert.Equal([("a", "1")], Parse(Bytes("event: a\ndata: 1\n\nevent: b\ndata: 2\n")));
    }

    [Fact]
    public void Comments_and_empty_blocks_dispatch_nothing()
    {
        Assert.Empty(Parse(Bytes(": one\n\n:two\n\n\n\n")));
    }

    [Fact]
    public void Event_name_without_data_is_not_dispatched()
    {
        // WHATWG HTML §9.2.6: "If the data buffer is an empty string, set the data buffer and the event type
        // buffer to the empty string and return." A name alone must not complete a message.
        Assert.Equal([("", "x")], Parse(Bytes("event: message_stop\n\ndata: x\n\n")));
    }

    [Fact]
    public void Only_one_leading_space_is_removed_from_a_value()
    {
        Assert.Equal([("  spaced", "  two")], Parse(Bytes("event:   spaced\ndata:   two\n\n")));
    }

    [Fact]
    public void Field_names_are_case_sensitive_and_unknown_fields_are_ignored()
    {
        Assert.Equal([("", "kept")], Parse(Bytes("Event: x\nDATA: dropped\ndata: kept\nfoo: bar\n\n")));
    }

    [Fact]
    public void Large_events_across_many_chunks()
    {
        var payload = new string('x', 100_000);
        var bytes = Bytes("event: big\ndata: " + payload + "\n\n");
        var chunks = bytes.Chunk(4093).ToArray();

        var events = Parse(chunks);

        var single = Assert.Single(events);
        Assert.Equal("big", single.Type);
        Assert.Equal(payload, single.Data);
    }
}
