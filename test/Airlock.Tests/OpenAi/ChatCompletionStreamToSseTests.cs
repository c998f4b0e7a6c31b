using System.Buffers;
using System.Text;
using System.Text.Json;
using Airlock.Protocols.Messages;
using Airlock.Protocols.OpenAi;
using Airlock.Protocols.Sse;

namespace Airlock.Tests.OpenAi;

/// <summary>Streamed chat completion → Messages SSE, incrementally, split anywhere.</summary>
public sealed class ChatCompletionStreamToSseTests
{
    /// <summary>
    /// A stream as vLLM sends it for a reasoning model that thinks, says something, then calls two tools in parallel
    /// (arguments in fragments, one of them with a multi-byte character), with CRLF line ends in places, a usage
    /// chunk and [DONE].
    /// </summary>
    private const string SampleStream =
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"qwen3\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Need the \"},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"files.\"},\"finish_reason\":null}]}\r\n\r\n" +
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Looking at \"},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"both — ok.\"},\"finish_reason\":null}]}\n\n" +
        ": keep-alive comment\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"Read\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"file_path\\\":\"}}]},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"/src/ü.txt\\\"}\"}}]},\"finish_reason\":null}]}\r\n\r\n" +
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"arguments\":\"{\\\"command\\\"\"}}]},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\": \\\"ls\\\"}\"}}]},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":61,\"total_tokens\":961,\"prompt_tokens_details\":{\"cached_tokens\":512}}}\n\n" +
        "data: [DONE]\n\n";

    private static readonly string[] ExpectedSample =
    [
        """message_start {"type":"message_start","message":{"id":"msg_chatcmpl-1","type":"message","role":"assistant","model":"qwen3","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}""",
        """content_block_start {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}""",
        """content_block_delta {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Need the "}}""",
        """content_block_delta {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"files."}}""",
        """content_block_stop {"type":"content_block_stop","index":0}""",
        """content_block_start {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}""",
        """content_block_delta {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Looking at "}}""",
        """content_block_delta {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"both — ok."}}""",
        """content_block_stop {"type":"content_block_stop","index":1}""",
        """content_block_start {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"call_a","name":"Read","input":{}}}""",
        """content_block_delta {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"file_path\":"}}""",
        """content_block_delta {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"\"/src/ü.txt\"}"}}""",
        """content_block_stop {"type":"content_block_stop","index":2}""",
        """content_block_start {"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"call_b","name":"Bash","input":{}}}""",
        """content_block_delta {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"command\""}}""",
        """content_block_delta {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":": \"ls\"}"}}""",
        """content_block_stop {"type":"content_block_stop","index":3}""",
        """message_delta {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":388,"output_tokens":61,"cache_read_input_tokens":512}}""",
        """message_stop {"type":"message_stop"}""",
    ];

    private sealed class Collector : ISseEventSink
    {
        public List<string> Events { get; } = [];

        public void OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data) =>
            Events.Add(Encoding.UTF8.GetString(eventType) + " " + Encoding.UTF8.GetString(data));
    }

    /// <summary>Feeds <paramref name="stream"/> in pieces cut at <paramref name="cuts"/>; returns the SSE bytes and the translator.</summary>
    private static (byte[] Sse, bool Completed, ChatCompletionStreamToSse Translator) Run(byte[] stream, params int[] cuts)
    {
        var translator = new ChatCompletionStreamToSse("asked-model");
        var output = new ArrayBufferWriter<byte>();
        var start = 0;
        foreach (var cut in cuts.Append(stream.Length))
        {
            translator.Feed(stream.AsSpan(start, cut - start), output);
            start = cut;
        }
        var completed = translator.Complete(output);
        return (output.WrittenSpan.ToArray(), completed, translator);
    }

    private static List<string> Events(byte[] sse)
    {
        var collector = new Collector();
        using var parser = new SseEventParser();
        parser.Feed(sse, collector);
        return collector.Events;
    }

    [Fact]
    public void Sample_stream_becomes_the_messages_event_sequence()
    {
        var (sse, completed, translator) = Run(Encoding.UTF8.GetBytes(SampleStream));
        using (translator)
        {
            Assert.True(completed);
            Assert.Null(translator.Failure);
            Assert.True(translator.Done);
            Assert.Equal(ExpectedSample, Events(sse));
        }
        // And the usage tracker the relay uses reads the counts from it.
        var usage = new MessagesUsageTracker();
        using var parser = new SseEventParser();
        parser.Feed(sse, usage);
        Assert.True(usage.Completed);
        Assert.Equal(388, usage.InputTokens);
        Assert.Equal(61, usage.OutputTokens);
        Assert.Equal(512, usage.CacheReadTokens);
    }

    [Fact]
    public void Splitting_the_stream_at_every_byte_offset_gives_the_same_bytes()
    {
        var stream = Encoding.UTF8.GetBytes(SampleStream);
        var (whole, _, first) = Run(stream);
        first.Dispose();
        for (var cut = 1; cut < stream.Length; cut++)
        {
            var (split, completed, translator) = Run(stream, cut);
            translator.Dispose();
            Assert.True(completed, $"cut at {cut}");
            Assert.True(whole.AsSpan().SequenceEqual(split), $"output differs when the stream is cut at byte {cut}");
        }
        // One byte at a time as well.
        var (bytewise, bytewiseCompleted, last) = Run(stream, [.. Enumerable.Range(1, stream.Length - 1)]);
        last.Dispose();
        Assert.True(bytewiseCompleted);
        Assert.True(whole.AsSpan().SequenceEqual(bytewise));
    }

    [Fact]
    public void Output_is_written_as_chunks_arrive_not_at_the_end()
    {
        var stream = Encoding.UTF8.GetBytes(SampleStream);
        using var translator = new ChatCompletionStreamToSse("m");
        var output = new ArrayBufferWriter<byte>();
        var firstText = SampleStream.IndexOf("Looking at", StringComparison.Ordinal);
        var end = SampleStream.IndexOf("\n\n", firstText, StringComparison.Ordinal) + 2;
        translator.Feed(stream.AsSpan(0, Encoding.UTF8.GetByteCount(SampleStream[..end])), output);
        var events = Events(output.WrittenSpan.ToArray());
        Assert.Equal(7, events.Count);
        Assert.Contains("Looking at ", events[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_that_ends_without_done_fails_as_incomplete()
    {
        var cut = SampleStream.IndexOf("data: [DONE]", StringComparison.Ordinal);
        var (sse, completed, translator) = Run(Encoding.UTF8.GetBytes(SampleStream[..cut]));
        using (translator)
        {
            Assert.False(completed);
            Assert.Equal("upstream_stream_incomplete", translator.Failure!.ErrorType);
            Assert.Contains("[DONE]", translator.Failure.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Events(sse), e => e.StartsWith("message_stop", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void An_error_chunk_becomes_an_sse_error_event_and_ends_translation()
    {
        var stream = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n" +
            "data: {\"error\":{\"message\":\"The server is overloaded\",\"type\":\"server_overloaded\",\"code\":null}}\n\n" +
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ignored\"}}]}\n\n";
        var (sse, completed, translator) = Run(Encoding.UTF8.GetBytes(stream));
        using (translator)
        {
            Assert.True(completed);
            Assert.Null(translator.Failure);
            Assert.Equal("overloaded_error", translator.StreamErrorType);
            var events = Events(sse);
            Assert.Equal("""error {"type":"error","error":{"type":"overloaded_error","message":"The server is overloaded"}}""", events[^1]);
            Assert.DoesNotContain(events, e => e.Contains("ignored", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Tool_arguments_that_are_not_a_json_object_fail_the_stream_at_the_block_end()
    {
        var stream =
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"Read\",\"arguments\":\"{\\\"file_path\\\": \"}}]}}]}\n\n" +
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n";
        var (sse, completed, translator) = Run(Encoding.UTF8.GetBytes(stream));
        using (translator)
        {
            Assert.False(completed);
            Assert.Equal("upstream_invalid_tool_arguments", translator.Failure!.ErrorType);
            Assert.Contains("'Read'", translator.Failure.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Events(sse), e => e.StartsWith("content_block_stop", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Going_back_to_a_tool_call_already_left_fails_the_stream()
    {
        var stream =
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"Read\",\"arguments\":\"{\"}}]}}]}\n\n" +
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"Bash\",\"arguments\":\"{}\"}}]}}]}\n\n" +
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"}\"}}]}}]}\n\ndata: [DONE]\n\n";
        var (_, completed, translator) = Run(Encoding.UTF8.GetBytes(stream));
        using (translator)
        {
            Assert.False(completed);
            // Tool 0 was closed with "{" only: that is caught first, when tool 1 opens.
            Assert.Equal("upstream_invalid_tool_arguments", translator.Failure!.ErrorType);
        }
        var interleaved =
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"Read\",\"arguments\":\"{}\"}}]}}]}\n\n" +
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"Bash\",\"arguments\":\"{}\"}}]}}]}\n\n" +
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\" \"}}]}}]}\n\ndata: [DONE]\n\n";
        var (_, interleavedCompleted, second) = Run(Encoding.UTF8.GetBytes(interleaved));
        using (second)
        {
            Assert.False(interleavedCompleted);
            Assert.Equal("upstream_stream_corrupt", second.Failure!.ErrorType);
            Assert.Contains("tool call 0", second.Failure.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("data: not-json\n\n")]
    [InlineData("data: [1,2]\n\n")]
    [InlineData("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n")]
    public void Chunks_that_cannot_be_read_fail_the_stream_as_corrupt(string stream)
    {
        var (_, completed, translator) = Run(Encoding.UTF8.GetBytes(stream + "data: [DONE]\n\n"));
        using (translator)
        {
            Assert.False(completed);
            Assert.Equal("upstream_stream_corrupt", translator.Failure!.ErrorType);
        }
    }

    [Fact]
    public void Reasoning_field_text_and_length_stop_with_ollama_style_object_arguments()
    {
        var stream =
            "data: {\"id\":\"o\",\"model\":\"llama3\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"hm\"}}]}\n\n" +
            "data: {\"id\":\"o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"cut\"},\"finish_reason\":\"length\"}]}\n\n" +
            "data: [DONE]\n\n";
        var (sse, completed, translator) = Run(Encoding.UTF8.GetBytes(stream));
        using (translator)
        {
            Assert.True(completed);
            var events = Events(sse);
            Assert.Contains(events, e => e.Contains("\"thinking_delta\",\"thinking\":\"hm\"", StringComparison.Ordinal));
            Assert.Contains(events, e => e.Contains("\"stop_reason\":\"max_tokens\"", StringComparison.Ordinal));
            // No usage chunk: zero counts, not a missing usage object.
            Assert.Contains(events, e => e.Contains("\"usage\":{\"input_tokens\":0,\"output_tokens\":0}", StringComparison.Ordinal));
        }

        var whole = "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"call_1\",\"function\":{\"name\":\"Glob\",\"arguments\":{\"pattern\":\"*.cs\"}}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n";
        var (wholeSse, wholeCompleted, wholeTranslator) = Run(Encoding.UTF8.GetBytes(whole));
        using (wholeTranslator)
        {
            Assert.True(wholeCompleted);
            var events = Events(wholeSse);
            Assert.Contains(events, e => e.Contains("\"partial_json\":\"{\\\"pattern\\\":\\\"*.cs\\\"}\"", StringComparison.Ordinal));
            Assert.Contains(events, e => e.Contains("\"stop_reason\":\"tool_use\"", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_done_without_any_chunk_still_makes_a_whole_empty_message()
    {
        var (sse, completed, translator) = Run("data: [DONE]\n\n"u8.ToArray());
        using (translator)
        {
            Assert.True(completed);
            var events = Events(sse);
            Assert.Equal(["message_start", "message_delta", "message_stop"], events.Select(e => e[..e.IndexOf(' ', StringComparison.Ordinal)]));
            using var start = JsonDocument.Parse(events[0][(events[0].IndexOf(' ', StringComparison.Ordinal) + 1)..]);
            Assert.Equal("asked-model", start.RootElement.GetProperty("message").GetProperty("model").GetString());
        }
    }
}
