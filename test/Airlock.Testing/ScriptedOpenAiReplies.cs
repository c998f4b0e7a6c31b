using System.Text.Json;

namespace Airlock.Testing;

/// <summary>
/// Replies only the <see cref="ScriptedOpenAi"/> understands, for what the shared <see cref="UpstreamReply"/> scripts
/// cannot say: raw chunk sequences (reasoning, parallel tool calls, broken streams) and raw completion bodies.
/// </summary>
public static class ScriptedOpenAiReplies
{
    /// <summary>
    /// Streams each of <paramref name="chunks"/> as one <c>data:</c> line (a JSON chunk, or anything else to test
    /// broken upstreams), then <c>data: [DONE]</c> unless <paramref name="done"/> is false.
    /// </summary>
    public static OpenAiChunksReply Chunks(IReadOnlyList<string> chunks, bool done = true) => new(chunks, done);

    /// <summary>Answers a non-streamed request with <paramref name="json"/> as it is.</summary>
    public static OpenAiCompletionReply Completion(string json) => new(json);

    /// <summary>A chunk JSON: <c>{"id","object":"chat.completion.chunk","model","choices":[{"index":0,"delta":…,"finish_reason":…}]}</c>.</summary>
    public static string Chunk(object delta, string? finishReason = null, string model = "scripted-model") =>
        JsonSerializer.Serialize(new
        {
            id = "chatcmpl-scripted",
            @object = "chat.completion.chunk",
            created = 1_700_000_000,
            model,
            choices = new[] { new { index = 0, delta, finish_reason = finishReason } },
        });

    /// <summary>The usage chunk servers send last when <c>stream_options.include_usage</c> is set.</summary>
    public static string UsageChunk(int promptTokens, int completionTokens, int? cachedTokens = null) =>
        JsonSerializer.Serialize(new
        {
            id = "chatcmpl-scripted",
            @object = "chat.completion.chunk",
            created = 1_700_000_000,
            model = "scripted-model",
            choices = Array.Empty<object>(),
            usage = cachedTokens is { } cached
                ? (object)new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens, prompt_tokens_details = new { cached_tokens = cached } }
                : new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens },
        });

    /// <summary>Several tool calls in one answer, streamed one after the other by index, arguments in fragments.</summary>
    public static OpenAiChunksReply ParallelToolCalls(params (string Id, string Name, object Input)[] calls)
    {
        ArgumentNullException.ThrowIfNull(calls);
        var chunks = new List<string> { Chunk(new { role = "assistant", content = (string?)null }) };
        for (var i = 0; i < calls.Length; i++)
        {
            var (id, name, input) = calls[i];
            chunks.Add(Chunk(new { tool_calls = new[] { new { index = i, id, type = "function", function = new { name, arguments = "" } } } }));
            foreach (var fragment in Split(JsonSerializer.Serialize(input), 7))
            {
                chunks.Add(Chunk(new { tool_calls = new[] { new { index = i, function = new { arguments = fragment } } } }));
            }
        }
        chunks.Add(Chunk(new { }, "tool_calls"));
        chunks.Add(UsageChunk(40, 12));
        return new OpenAiChunksReply(chunks, Done: true);
    }

    /// <summary>Reasoning deltas (<c>reasoning_content</c>, as vLLM and DeepSeek name them) followed by text.</summary>
    public static OpenAiChunksReply ReasoningThenText(string reasoning, string text, string field = "reasoning_content")
    {
        var chunks = new List<string> { Chunk(new { role = "assistant", content = "" }) };
        foreach (var piece in Split(reasoning, 10))
        {
            chunks.Add(Chunk(new Dictionary<string, string> { [field] = piece }));
        }
        foreach (var piece in Split(text, 10))
        {
            chunks.Add(Chunk(new { content = piece }));
        }
        chunks.Add(Chunk(new { }, "stop"));
        chunks.Add(UsageChunk(30, 20));
        return new OpenAiChunksReply(chunks, Done: true);
    }

    internal static IEnumerable<string> Split(string text, int size)
    {
        for (var i = 0; i < text.Length; i += size)
        {
            yield return text.Substring(i, Math.Min(size, text.Length - i));
        }
    }
}

/// <summary>Raw <c>data:</c> payloads, streamed one per event; see <see cref="ScriptedOpenAiReplies.Chunks"/>.</summary>
public sealed record OpenAiChunksReply(IReadOnlyList<string> Chunks, bool Done) : UpstreamReply;

/// <summary>A raw non-streamed completion body; see <see cref="ScriptedOpenAiReplies.Completion"/>.</summary>
public sealed record OpenAiCompletionReply(string Json) : UpstreamReply;
