using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Airlock.Protocols.Messages;

/// <summary>
/// Error bodies in the Anthropic Messages shape, <c>{"type":"error","error":{"type":…,"message":…}}</c>,
/// which Claude Code and the Anthropic SDKs parse and show to the developer.
/// Error types follow https://docs.anthropic.com/en/api/errors.
/// </summary>
public static class AnthropicErrors
{
    /// <summary>400: malformed or invalid request.</summary>
    public const string InvalidRequest = "invalid_request_error";

    /// <summary>401: missing or invalid credential.</summary>
    public const string Authentication = "authentication_error";

    /// <summary>403: the credential may not do this.</summary>
    public const string Permission = "permission_error";

    /// <summary>404: unknown model or route.</summary>
    public const string NotFound = "not_found_error";

    /// <summary>413: body too large.</summary>
    public const string RequestTooLarge = "request_too_large";

    /// <summary>429: rate limited.</summary>
    public const string RateLimit = "rate_limit_error";

    /// <summary>500/502/504: gateway or upstream failure.</summary>
    public const string Api = "api_error";

    /// <summary>529: upstream overloaded.</summary>
    public const string Overloaded = "overloaded_error";

    /// <summary>The JSON error body.</summary>
    public static byte[] Body(string type, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(128 + message.Length);
        // Relaxed escaping: the body is JSON for API clients, not HTML, and messages should read as written.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Write(writer, type, message);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The same error as one SSE <c>error</c> event, for failures after the stream has started.</summary>
    public static byte[] SseEvent(string type, string message)
    {
        var json = Body(type, message);
        var prefix = "event: error\ndata: "u8;
        var result = new byte[prefix.Length + json.Length + 2];
        prefix.CopyTo(result);
        json.CopyTo(result.AsSpan(prefix.Length));
        result[^2] = (byte)'\n';
        result[^1] = (byte)'\n';
        return result;
    }

    /// <summary>Writes the error object.</summary>
    public static void Write(Utf8JsonWriter writer, string type, string message)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "error"u8);
        writer.WriteStartObject("error"u8);
        writer.WriteString("type"u8, type);
        writer.WriteString("message"u8, message);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>The error type that matches an HTTP status, for errors the gateway produces itself.</summary>
    public static string TypeForStatus(int status) => status switch
    {
        400 => InvalidRequest,
        401 => Authentication,
        403 => Permission,
        404 => NotFound,
        413 => RequestTooLarge,
        429 => RateLimit,
        529 => Overloaded,
        _ => Api,
    };

    /// <summary>UTF-8 text helper for tests and logs.</summary>
    public static string ToText(byte[] body) => Encoding.UTF8.GetString(body);
}
