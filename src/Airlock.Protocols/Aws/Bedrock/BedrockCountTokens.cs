using System.Buffers;
using System.Text.Json;

namespace Airlock.Protocols.Aws.Bedrock;

/// <summary>
/// Bedrock Runtime <c>CountTokens</c> (<c>POST /model/{modelId}/count-tokens</c>, Bedrock API reference): the request
/// wraps an InvokeModel body as <c>{"input":{"invokeModel":{"body":"&lt;base64&gt;"}}}</c> (the <c>body</c> member is a
/// blob, so JSON carries it base64-encoded) and the answer is <c>{"inputTokens":N}</c>. The Messages API's
/// <c>count_tokens</c> answers <c>{"input_tokens":N}</c>.
/// </summary>
public static class BedrockCountTokens
{
    /// <summary>Wraps a Bedrock InvokeModel body into a CountTokens request.</summary>
    public static byte[] WrapInvokeBody(ReadOnlySpan<byte> invokeBody)
    {
        var buffer = new ArrayBufferWriter<byte>(invokeBody.Length * 4 / 3 + 64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("input");
            writer.WriteStartObject("invokeModel");
            writer.WriteBase64String("body", invokeBody);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The InvokeModel body inside a CountTokens request; false with a reason when the request is not one.</summary>
    public static bool TryUnwrapInvokeBody(ReadOnlySpan<byte> request, out byte[] invokeBody, out string? error)
    {
        invokeBody = [];
        try
        {
            var reader = new Utf8JsonReader(request, new JsonReaderOptions { MaxDepth = 8 });
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("input", out var input) || input.ValueKind != JsonValueKind.Object)
            {
                error = "required key [input] not found";
                return false;
            }
            if (!input.TryGetProperty("invokeModel", out var invoke) || invoke.ValueKind != JsonValueKind.Object
                || !invoke.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.String)
            {
                error = "input.invokeModel.body (a base64 string) is required";
                return false;
            }
            if (!body.TryGetBytesFromBase64(out var bytes))
            {
                error = "input.invokeModel.body is not valid base64";
                return false;
            }
            invokeBody = bytes;
            error = null;
            return true;
        }
        catch (JsonException)
        {
            error = "the body is not valid JSON";
            return false;
        }
    }

    /// <summary>Reads <c>inputTokens</c> from a CountTokens answer.</summary>
    public static bool TryReadInputTokens(ReadOnlySpan<byte> answer, out long inputTokens) =>
        TryReadTokenCount(answer, "inputTokens", out inputTokens);

    /// <summary>Reads the non-negative number <paramref name="property"/> of a token-count answer (either dialect).</summary>
    public static bool TryReadTokenCount(ReadOnlySpan<byte> answer, string property, out long count)
    {
        count = 0;
        try
        {
            var reader = new Utf8JsonReader(answer, new JsonReaderOptions { MaxDepth = 8 });
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty(property, out var tokens)
                && tokens.ValueKind == JsonValueKind.Number // TryGetInt64 throws on a string, it does not answer false
                && tokens.TryGetInt64(out count) && count >= 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The CountTokens answer: <c>{"inputTokens":N}</c>.</summary>
    public static byte[] Answer(long inputTokens) => Number("inputTokens", inputTokens);

    /// <summary>The Messages <c>count_tokens</c> answer: <c>{"input_tokens":N}</c>.</summary>
    public static byte[] MessagesAnswer(long inputTokens) => Number("input_tokens", inputTokens);

    private static byte[] Number(string name, long value)
    {
        var buffer = new ArrayBufferWriter<byte>(32);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber(name, value);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
