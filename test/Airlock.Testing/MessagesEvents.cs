using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Airlock.Testing;

/// <summary>One server-sent event: its <c>event:</c> name and its <c>data:</c> JSON.</summary>
public sealed record SseEvent(string Name, string Data)
{
    /// <summary>The wire form: <c>event: name\ndata: json\n\n</c>.</summary>
    public byte[] ToBytes() => Encoding.UTF8.GetBytes($"event: {Name}\ndata: {Data}\n\n");
}

/// <summary>
/// Builds Messages API answers (SSE event sequences and non-streaming JSON) in the shape the Anthropic API
/// documents for streaming: message_start, content_block_start, ping, content_block_delta…,
/// content_block_stop, message_delta (stop_reason, usage.output_tokens), message_stop
/// (https://docs.anthropic.com/en/api/messages-streaming).
/// </summary>
public static class MessagesEvents
{
    /// <summary>How many delta events go between two <c>ping</c> events.</summary>
    private const int DeltasPerPing = 4;

    /// <summary>Text deltas hold at most this many characters, so even short answers span several events.</summary>
    private const int MaxTextChunk = 12;

    public static IReadOnlyList<SseEvent> ForText(string messageId, string model, string text, int inputTokens, int outputTokens)
    {
        var events = new List<SseEvent>
        {
            MessageStart(messageId, model, inputTokens),
            new("content_block_start", Json(w =>
            {
                w.WriteString("type", "content_block_start");
                w.WriteNumber("index", 0);
                w.WriteStartObject("content_block");
                w.WriteString("type", "text");
                w.WriteString("text", "");
                w.WriteEndObject();
            })),
            Ping(),
        };

        var chunks = SplitText(text);
        for (var i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            events.Add(new("content_block_delta", Json(w =>
            {
                w.WriteString("type", "content_block_delta");
                w.WriteNumber("index", 0);
                w.WriteStartObject("delta");
                w.WriteString("type", "text_delta");
                w.WriteString("text", chunk);
                w.WriteEndObject();
            })));
            if ((i + 1) % DeltasPerPing == 0 && i + 1 < chunks.Count)
            {
                events.Add(Ping());
            }
        }

        events.Add(BlockStop(0));
        events.Add(MessageDelta("end_turn", outputTokens));
        events.Add(MessageStop());
        return events;
    }

    public static IReadOnlyList<SseEvent> ForToolUse(string messageId, string model, string toolUseId, string toolName, string inputJson, int inputTokens, int outputTokens)
    {
        var events = new List<SseEvent>
        {
            MessageStart(messageId, model, inputTokens),
            new("content_block_start", Json(w =>
            {
                w.WriteString("type", "content_block_start");
                w.WriteNumber("index", 0);
                w.WriteStartObject("content_block");
                w.WriteString("type", "tool_use");
                w.WriteString("id", toolUseId);
                w.WriteString("name", toolName);
                w.WriteStartObject("input");
                w.WriteEndObject();
                w.WriteEndObject();
            })),
            Ping(),
        };

        // The API streams tool input as partial JSON fragments that only parse once concatenated.
        events.Add(InputJsonDelta(""));
        foreach (var fragment in SplitEvenly(inputJson, 3))
        {
            events.Add(InputJsonDelta(fragment));
        }

        events.Add(BlockStop(0));
        events.Add(MessageDelta("tool_use", outputTokens));
        events.Add(MessageStop());
        return events;
    }

    public static SseEvent ErrorEvent(string type, string message)
        => new("error", Json(w =>
        {
            w.WriteString("type", "error");
            w.WriteStartObject("error");
            w.WriteString("type", type);
            w.WriteString("message", message);
            w.WriteEndObject();
        }));

    /// <summary>A complete non-streaming message (<c>"type":"message"</c>) with one text block.</summary>
    public static string TextMessage(string messageId, string model, string text, int inputTokens, int outputTokens)
        => Json(w =>
        {
            WriteMessageHeader(w, messageId, model);
            w.WriteStartArray("content");
            w.WriteStartObject();
            w.WriteString("type", "text");
            w.WriteString("text", text);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteString("stop_reason", "end_turn");
            w.WriteNull("stop_sequence");
            WriteUsage(w, inputTokens, outputTokens);
        });

    /// <summary>A complete non-streaming message with one tool_use block.</summary>
    public static string ToolUseMessage(string messageId, string model, string toolUseId, string toolName, string inputJson, int inputTokens, int outputTokens)
        => Json(w =>
        {
            WriteMessageHeader(w, messageId, model);
            w.WriteStartArray("content");
            w.WriteStartObject();
            w.WriteString("type", "tool_use");
            w.WriteString("id", toolUseId);
            w.WriteString("name", toolName);
            w.WritePropertyName("input");
            w.WriteRawValue(inputJson);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteString("stop_reason", "tool_use");
            w.WriteNull("stop_sequence");
            WriteUsage(w, inputTokens, outputTokens);
        });

    /// <summary>The Anthropic error body: <c>{"type":"error","error":{"type":…,"message":…},"request_id":…}</c>.</summary>
    public static string ErrorBody(string type, string message, string requestId)
        => Json(w =>
        {
            w.WriteString("type", "error");
            w.WriteStartObject("error");
            w.WriteString("type", type);
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteString("request_id", requestId);
        });

    /// <summary>Splits text into chunks of at most <see cref="MaxTextChunk"/> characters, preferring word boundaries.</summary>
    public static IReadOnlyList<string> SplitText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var chunks = new List<string>();
        var start = 0;
        while (start < text.Length)
        {
            var length = Math.Min(MaxTextChunk, text.Length - start);
            if (start + length < text.Length)
            {
                var space = text.LastIndexOf(' ', start + length - 1, length);
                if (space > start)
                {
                    length = space - start + 1;
                }

                // Never split a surrogate pair across two events.
                if (char.IsHighSurrogate(text[start + length - 1]))
                {
                    length--;
                }
            }

            chunks.Add(text.Substring(start, length));
            start += length;
        }

        return chunks;
    }

    private static IEnumerable<string> SplitEvenly(string value, int parts)
    {
        var size = Math.Max(1, (value.Length + parts - 1) / parts);
        for (var i = 0; i < value.Length; i += size)
        {
            yield return value.Substring(i, Math.Min(size, value.Length - i));
        }
    }

    private static SseEvent MessageStart(string messageId, string model, int inputTokens)
        => new("message_start", Json(w =>
        {
            w.WriteString("type", "message_start");
            w.WriteStartObject("message");
            WriteMessageHeader(w, messageId, model);
            w.WriteStartArray("content");
            w.WriteEndArray();
            w.WriteNull("stop_reason");
            w.WriteNull("stop_sequence");
            WriteUsage(w, inputTokens, 1);
            w.WriteEndObject();
        }));

    private static SseEvent InputJsonDelta(string fragment)
        => new("content_block_delta", Json(w =>
        {
            w.WriteString("type", "content_block_delta");
            w.WriteNumber("index", 0);
            w.WriteStartObject("delta");
            w.WriteString("type", "input_json_delta");
            w.WriteString("partial_json", fragment);
            w.WriteEndObject();
        }));

    private static SseEvent BlockStop(int index)
        => new("content_block_stop", Json(w =>
        {
            w.WriteString("type", "content_block_stop");
            w.WriteNumber("index", index);
        }));

    private static SseEvent MessageDelta(string stopReason, int outputTokens)
        => new("message_delta", Json(w =>
        {
            w.WriteString("type", "message_delta");
            w.WriteStartObject("delta");
            w.WriteString("stop_reason", stopReason);
            w.WriteNull("stop_sequence");
            w.WriteEndObject();
            w.WriteStartObject("usage");
            w.WriteNumber("output_tokens", outputTokens);
            w.WriteEndObject();
        }));

    private static SseEvent MessageStop() => new("message_stop", """{"type":"message_stop"}""");

    private static SseEvent Ping() => new("ping", """{"type": "ping"}""");

    private static void WriteMessageHeader(Utf8JsonWriter w, string messageId, string model)
    {
        w.WriteString("id", messageId);
        w.WriteString("type", "message");
        w.WriteString("role", "assistant");
        w.WriteString("model", model);
    }

    private static void WriteUsage(Utf8JsonWriter w, int inputTokens, int outputTokens)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", inputTokens);
        w.WriteNumber("cache_creation_input_tokens", 0);
        w.WriteNumber("cache_read_input_tokens", 0);
        w.WriteNumber("output_tokens", outputTokens);
        w.WriteString("service_tier", "standard");
        w.WriteEndObject();
    }

    private static string Json(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        // Relaxed escaping writes '+', '<', non-ASCII... as themselves, like the real API, so tests that look
        // for a token in the raw stream find it as it would appear on the wire.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
