using System.Text.Json;
using Airlock.Protocols.Messages;

namespace Airlock.Protocols.OpenAi;

/// <summary>
/// Reads the error bodies OpenAI-compatible servers send into an Anthropic error type and message:
/// OpenAI's <c>{"error":{"message","type","code","param"}}</c>, vLLM's <c>{"object":"error","message","type","code"}</c>
/// and Ollama's <c>{"error":"text"}</c>. The HTTP status decides the Anthropic type (it is what the client acts on:
/// 429 retries, 400 does not); an in-stream error without a status is typed from its numeric <c>code</c> or its
/// <c>type</c>.
/// </summary>
public static class OpenAiErrors
{
    /// <summary>Reads an error response body; the message is the upstream's, or null when none could be read.</summary>
    public static (string Type, string? Message) ReadBody(int status, ReadOnlySpan<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
                {
                    return Read(error, status);
                }
                return Read(root, status);
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page): described by its status.
        }
        return (AnthropicErrors.TypeForStatus(status), null);
    }

    /// <summary>Reads an error object (or an error string); <paramref name="status"/> is null for in-stream errors.</summary>
    public static (string Type, string? Message) Read(JsonElement error, int? status)
    {
        string? message = null;
        string? type = null;
        int? code = null;
        if (error.ValueKind == JsonValueKind.String)
        {
            message = error.GetString();
        }
        else if (error.ValueKind == JsonValueKind.Object)
        {
            message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            type = error.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (error.TryGetProperty("code", out var c))
            {
                if (c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var number))
                {
                    code = number;
                }
                else if (c.ValueKind == JsonValueKind.String && int.TryParse(c.GetString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
                {
                    code = parsed;
                }
            }
        }
        var effective = status ?? code;
        string anthropicType;
        if (effective is { } known && known >= 400)
        {
            anthropicType = AnthropicErrors.TypeForStatus(known);
        }
        else
        {
            anthropicType = type switch
            {
                "rate_limit_exceeded" or "rate_limit_error" or "tokens" or "requests" => AnthropicErrors.RateLimit,
                "invalid_request_error" or "BadRequestError" => AnthropicErrors.InvalidRequest,
                "authentication_error" => AnthropicErrors.Authentication,
                "server_overloaded" or "overloaded_error" => AnthropicErrors.Overloaded,
                _ => AnthropicErrors.Api,
            };
        }
        return (anthropicType, string.IsNullOrEmpty(message) ? null : message);
    }
}
