using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Airlock.Protocols.Messages;

/// <summary>What the gateway needs from a Messages request body without deserializing it.</summary>
/// <param name="Model">Top-level <c>model</c> (null when absent).</param>
/// <param name="Stream">Top-level <c>stream</c> is <c>true</c>.</param>
public readonly record struct MessagesRequestInfo(string? Model, bool Stream)
{
    /// <summary>Where the body's top-level members lie, taken during validation (null unless the read succeeded).</summary>
    public Json.JsonObjectLayout? Layout { get; init; }
}

/// <summary>
/// Validates a request body (UTF-8, JSON syntax, nesting depth) in one forward pass and picks out the top-level
/// <c>model</c> and <c>stream</c>. The pass is <see cref="TryReadFast"/> (<see cref="Json.JsonSyntax"/>); whatever it
/// does not accept is read again by <see cref="Utf8JsonReader"/>, whose verdict and error text then stand.
/// The body itself is never re-serialized: it is forwarded byte for byte. The same pass notes where each top-level
/// member lies (<see cref="MessagesRequestInfo.Layout"/>), so doors that move members between body shapes need not
/// read the body again.
/// </summary>
public static class MessagesRequestReader
{
    /// <summary>Reads <paramref name="body"/>; on failure <paramref name="error"/> says what and where, without quoting content.</summary>
    public static bool TryRead(ReadOnlySpan<byte> body, int maxDepth, out MessagesRequestInfo info, out string? error)
    {
        info = default;
        if (body.IsEmpty)
        {
            error = "request body is empty; expected a JSON object";
            return false;
        }
        if (!Utf8.IsValid(body))
        {
            error = $"request body is not valid UTF-8 (first invalid byte at offset {FirstInvalidUtf8(body)})";
            return false;
        }
        if (TryReadFast(body, maxDepth, out info))
        {
            error = null;
            return true;
        }
        return TryReadWithReader(body, maxDepth, out info, out error);
    }

    /// <summary>
    /// <see cref="TryRead"/>'s reference pass, on its own: <see cref="Utf8JsonReader"/> reads the whole body (already
    /// known to be non-empty, valid UTF-8). <see cref="TryRead"/> runs it for every body the fast path does not accept,
    /// so its verdict and error text are the ones clients see; benchmarks call it to compare the two.
    /// </summary>
    public static bool TryReadWithReader(ReadOnlySpan<byte> body, int maxDepth, out MessagesRequestInfo info, out string? error)
    {
        info = default;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions
        {
            MaxDepth = maxDepth,
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
        });
        string? model = null;
        var stream = false;
        var seenModel = false;
        var seenStream = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "request body must be a JSON object";
                return false;
            }
            var layout = new Json.JsonObjectLayout.Builder(body.Length, (int)reader.TokenStartIndex);
            // Only top-level property names (and the end of the object) come here: each value is read or skipped whole.
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                layout.Name(ref reader);
                if (reader.ValueTextEquals("model"u8))
                {
                    // JSON parsers disagree on repeated keys (first wins, last wins, error): refusing them keeps the
                    // model the gateway routes on the model the upstream serves.
                    if (seenModel)
                    {
                        error = "model: appears more than once";
                        return false;
                    }
                    seenModel = true;
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        error = "model: must be a string";
                        return false;
                    }
                    layout.Value(ref reader);
                    model = reader.GetString();
                }
                else if (reader.ValueTextEquals("stream"u8))
                {
                    if (seenStream)
                    {
                        error = "stream: appears more than once";
                        return false;
                    }
                    seenStream = true;
                    reader.Read();
                    if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                    {
                        error = "stream: must be a boolean";
                        return false;
                    }
                    layout.Value(ref reader);
                    stream = reader.TokenType == JsonTokenType.True;
                }
                else
                {
                    reader.Read();
                    layout.Value(ref reader);
                    reader.Skip();
                }
                layout.End(ref reader);
            }
            // The loop stopped on the object's closing brace: anything but whitespace after it is a reader error here.
            if (reader.Read())
            {
                error = "request body must hold exactly one JSON object";
                return false;
            }
            info = new MessagesRequestInfo(model, stream) { Layout = layout.Build() };
        }
        catch (JsonException ex)
        {
            // The reader's message names the token and position but never quotes string content.
            error = $"malformed JSON at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine}: {TrimMessage(ex.Message)}";
            return false;
        }
        error = null;
        return true;
    }

    /// <summary>
    /// The fast path of <see cref="TryRead"/> for a non-empty body already known to be valid UTF-8: true only when the
    /// body is valid and <see cref="TryRead"/>'s <see cref="Utf8JsonReader"/> pass would accept it with exactly this
    /// <paramref name="info"/>. False means "ask the reader": the body may be invalid, or valid but in a shape this
    /// path leaves to the reader (an escaped top-level member name or <c>model</c>, a leading byte order mark,
    /// <paramref name="maxDepth"/> outside 1..<see cref="Json.JsonSyntax.MaxSupportedDepth"/>).
    /// </summary>
    public static bool TryReadFast(ReadOnlySpan<byte> body, int maxDepth, out MessagesRequestInfo info)
    {
        info = default;
        if (maxDepth is < 1 or > Json.JsonSyntax.MaxSupportedDepth)
        {
            return false;
        }
        var i = Json.JsonSyntax.SkipWhitespace(body, 0);
        if ((uint)i >= (uint)body.Length || body[i] != '{')
        {
            return false;
        }
        var layout = new Json.JsonObjectLayout.Builder(body.Length, i);
        int modelStart = -1, modelEnd = -1;
        var stream = false;
        var seenStream = false;
        i = Json.JsonSyntax.SkipWhitespace(body, i + 1);
        if ((uint)i < (uint)body.Length && body[i] == '}')
        {
            i++;
        }
        else
        {
            while (true)
            {
                var start = i;
                if ((uint)i >= (uint)body.Length || body[i] != '"' || !Json.JsonSyntax.TrySkipString(body, ref i, out var nameEscaped) || nameEscaped)
                {
                    // An escaped name may still spell model or stream: the reader decodes it.
                    return false;
                }
                var name = body[(start + 1)..(i - 1)];
                i = Json.JsonSyntax.SkipWhitespace(body, i);
                if ((uint)i >= (uint)body.Length || body[i] != ':')
                {
                    return false;
                }
                i = Json.JsonSyntax.SkipWhitespace(body, i + 1);
                var valueStart = i;
                if (name.SequenceEqual("model"u8))
                {
                    // Not a string, a repeat, or escaped (decoded by the reader): the reader decides and words the error.
                    if (modelStart >= 0 || (uint)i >= (uint)body.Length || body[i] != '"'
                        || !Json.JsonSyntax.TrySkipString(body, ref i, out var modelEscaped) || modelEscaped)
                    {
                        return false;
                    }
                    modelStart = valueStart + 1;
                    modelEnd = i - 1;
                }
                else if (name.SequenceEqual("stream"u8))
                {
                    if (seenStream)
                    {
                        return false;
                    }
                    seenStream = true;
                    if (body[i..].StartsWith("true"u8))
                    {
                        stream = true;
                        i += 4;
                    }
                    else if (body[i..].StartsWith("false"u8))
                    {
                        i += 5;
                    }
                    else
                    {
                        return false;
                    }
                }
                else if (!Json.JsonSyntax.TrySkipValue(body, ref i, 1, maxDepth))
                {
                    return false;
                }
                layout.Add(new Json.JsonObjectLayout.Member(start, name.Length, false, valueStart, i));
                i = Json.JsonSyntax.SkipWhitespace(body, i);
                if ((uint)i >= (uint)body.Length)
                {
                    return false;
                }
                if (body[i] == '}')
                {
                    i++;
                    break;
                }
                if (body[i] != ',')
                {
                    return false;
                }
                i = Json.JsonSyntax.SkipWhitespace(body, i + 1);
            }
        }
        if (Json.JsonSyntax.SkipWhitespace(body, i) != body.Length)
        {
            return false;
        }
        var model = modelStart < 0 ? null : Encoding.UTF8.GetString(body[modelStart..modelEnd]);
        info = new MessagesRequestInfo(model, stream) { Layout = layout.Build() };
        return true;
    }

    private static string TrimMessage(string message)
    {
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> body)
    {
        var offset = 0;
        while (offset < body.Length)
        {
            if (Rune.DecodeFromUtf8(body[offset..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return offset;
            }
            offset += consumed;
        }
        return -1;
    }
}
