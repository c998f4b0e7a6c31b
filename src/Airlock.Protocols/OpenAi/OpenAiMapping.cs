using System.Security.Cryptography;
using System.Text.Json;

namespace Airlock.Protocols.OpenAi;

/// <summary>Token counts of a chat completion (<c>usage</c>).</summary>
/// <param name="PromptTokens"><c>prompt_tokens</c> (OpenAI counts cached prompt tokens in it).</param>
/// <param name="CompletionTokens"><c>completion_tokens</c>.</param>
/// <param name="CachedTokens"><c>prompt_tokens_details.cached_tokens</c>, when the server reports it.</param>
public readonly record struct OpenAiUsage(long? PromptTokens, long? CompletionTokens, long? CachedTokens)
{
    /// <summary>Reads a <c>usage</c> object (null or absent members stay null).</summary>
    public static OpenAiUsage Read(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return default;
        }
        long? cached = null;
        if (usage.TryGetProperty("prompt_tokens_details", out var details) && details.ValueKind == JsonValueKind.Object)
        {
            cached = Number(details, "cached_tokens");
        }
        return new OpenAiUsage(Number(usage, "prompt_tokens"), Number(usage, "completion_tokens"), cached);
    }

    /// <summary>
    /// Writes the Messages <c>usage</c> object. Anthropic's <c>input_tokens</c> excludes cache reads, OpenAI's
    /// <c>prompt_tokens</c> includes them: cached tokens are moved to <c>cache_read_input_tokens</c>.
    /// </summary>
    public void WriteMessagesUsage(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject("usage"u8);
        var cached = CachedTokens ?? 0;
        writer.WriteNumber("input_tokens"u8, Math.Max(0, (PromptTokens ?? 0) - cached));
        writer.WriteNumber("output_tokens"u8, CompletionTokens ?? 0);
        if (CachedTokens is not null)
        {
            writer.WriteNumber("cache_read_input_tokens"u8, cached);
        }
        writer.WriteEndObject();
    }

    private static long? Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;
}

/// <summary>Small mappings shared by the response and stream translators.</summary>
public static class OpenAiMapping
{
    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>
    /// <c>finish_reason</c> → <c>stop_reason</c>: stop → end_turn (a matched stop sequence is reported as end_turn
    /// too: chat completions do not say which one matched), length → max_tokens, tool_calls (and the legacy
    /// function_call) → tool_use, content_filter → refusal; anything else or none → end_turn. An answer that
    /// called tools but says stop (or nothing), as some servers do, is tool_use: that is what the client acts on.
    /// </summary>
    public static string StopReason(string? finishReason, bool hasToolCalls = false) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ when hasToolCalls => "tool_use",
        _ => "end_turn",
    };

    /// <summary>
    /// The tool call id to show the client: the upstream's when it is a plausible id (Claude Code sends it back as
    /// <c>tool_use_id</c>, and the server matches its own ids), else a fresh <c>toolu_…</c>.
    /// </summary>
    public static string ToolUseId(string? upstreamId)
    {
        if (!string.IsNullOrEmpty(upstreamId) && upstreamId.Length <= 128 && upstreamId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            return upstreamId;
        }
        return "toolu_" + RandomNumberGenerator.GetString(IdAlphabet, 24);
    }

    /// <summary>A Messages message id for an upstream completion id (<c>chatcmpl-…</c>), or a fresh one.</summary>
    public static string MessageId(string? upstreamId) =>
        !string.IsNullOrEmpty(upstreamId) && upstreamId.Length <= 128 && upstreamId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')
            ? "msg_" + upstreamId
            : "msg_" + RandomNumberGenerator.GetString(IdAlphabet, 24);

    /// <summary>True when <paramref name="json"/> is one complete JSON object (tool arguments must be one).</summary>
    public static bool IsJsonObject(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
