using System.Text;
using System.Text.Json;

namespace Airlock.Testing;

/// <summary>
/// One request exactly as the <see cref="ScriptedUpstream"/> received it: method, path, query,
/// every header (name as received, all values) and the raw body bytes, untouched.
/// </summary>
public sealed class RecordedRequest
{
    private readonly byte[] _body;

    public RecordedRequest(
        int sequence,
        string method,
        string path,
        string queryString,
        IReadOnlyList<KeyValuePair<string, string>> headers,
        byte[] body,
        DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(body);
        Sequence = sequence;
        Method = method;
        Path = path;
        QueryString = queryString;
        HeaderLines = headers;
        _body = body;
        ReceivedAt = receivedAt;

        var grouped = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var group in headers.GroupBy(h => h.Key, StringComparer.OrdinalIgnoreCase))
        {
            grouped[group.Key] = group.Select(h => h.Value).ToArray();
        }

        Headers = grouped;
    }

    /// <summary>Zero-based arrival order across all endpoints of one upstream.</summary>
    public int Sequence { get; }

    public string Method { get; }

    /// <summary>Path without the query, e.g. <c>/v1/messages</c>.</summary>
    public string Path { get; }

    /// <summary>Query string including the leading <c>?</c>, or empty.</summary>
    public string QueryString { get; }

    /// <summary>Headers as (name, value) pairs in the order the server saw them; a header with several values appears once per value.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> HeaderLines { get; }

    /// <summary>Headers by name (case-insensitive lookup, name spelled as received).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Headers { get; }

    /// <summary>The exact body bytes.</summary>
    public ReadOnlyMemory<byte> Body => _body;

    public DateTimeOffset ReceivedAt { get; }

    /// <summary>The body decoded as UTF-8 (for assertions; use <see cref="Body"/> for byte-exact checks).</summary>
    public string BodyText => Encoding.UTF8.GetString(_body);

    /// <summary>Copy of the body bytes.</summary>
    public byte[] GetBodyBytes() => (byte[])_body.Clone();

    /// <summary>First value of a header, or null when absent.</summary>
    public string? Header(string name)
        => Headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    /// <summary>Parses the body; the caller disposes the document.</summary>
    public JsonDocument ParseBody() => JsonDocument.Parse(_body);

    /// <summary>True when the body is a JSON object with <c>"stream": true</c>.</summary>
    public bool IsStreaming
    {
        get
        {
            var root = TryParseObject();
            return root is { } r && r.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        }
    }

    /// <summary>The <c>model</c> field of the body, if any.</summary>
    public string? Model
    {
        get
        {
            var root = TryParseObject();
            return root is { } r && r.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()
                : null;
        }
    }

    /// <summary>
    /// The <c>tool_result</c> blocks of the LAST message (how a client answers a tool call):
    /// tool_use_id and the result content flattened to text.
    /// </summary>
    public IReadOnlyList<ToolResultBlock> LastMessageToolResults()
    {
        var root = TryParseObject();
        if (root is not { } r
            || !r.TryGetProperty("messages", out var messages)
            || messages.ValueKind != JsonValueKind.Array
            || messages.GetArrayLength() == 0)
        {
            return [];
        }

        var last = messages[messages.GetArrayLength() - 1];
        if (!last.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var results = new List<ToolResultBlock>();
        foreach (var block in content.EnumerateArray())
        {
            if (block.ValueKind == JsonValueKind.Object
                && block.TryGetProperty("type", out var type)
                && type.ValueEquals("tool_result"))
            {
                var id = block.TryGetProperty("tool_use_id", out var idElement) ? idElement.GetString() ?? "" : "";
                var isError = block.TryGetProperty("is_error", out var e) && e.ValueKind == JsonValueKind.True;
                var text = block.TryGetProperty("content", out var c) ? FlattenContent(c) : "";
                results.Add(new ToolResultBlock(id, text, isError));
            }
        }

        return results;
    }

    /// <summary>True when the last message carries at least one <c>tool_result</c> block.</summary>
    public bool LastMessageHasToolResult => LastMessageToolResults().Count > 0;

    public override string ToString() => $"#{Sequence} {Method} {Path}{QueryString} ({_body.Length} bytes)";

    private JsonElement? TryParseObject()
    {
        try
        {
            using var document = JsonDocument.Parse(_body);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // tool_result content is either a string or an array of content blocks (text, image...).
    private static string FlattenContent(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString() ?? "";
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return content.GetRawText();
        }

        var builder = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                builder.Append(text.GetString());
            }
        }

        return builder.ToString();
    }
}

/// <summary>A <c>tool_result</c> block as a client sent it back.</summary>
public sealed record ToolResultBlock(string ToolUseId, string Content, bool IsError);
