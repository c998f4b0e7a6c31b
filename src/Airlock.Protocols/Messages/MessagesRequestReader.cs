using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Airlock.Protocols.Messages;

/// <summary>What the gateway needs from a Messages request body without deserializing it.</summary>
/// <param name="Model">Top-level <c>model</c> (null when absent).</param>
/// <param name="Stream">Top-level <c>stream</c> is <c>true</c>.</param>
public readonly record struct MessagesRequestInfo(string? Model, bool Stream);

/// <summary>
/// Validates a request body (UTF-8, JSON syntax, nesting depth) in one forward pass with
/// <see cref="Utf8JsonReader"/> and picks out the top-level <c>model</c> and <c>stream</c>.
/// The body itself is never re-serialized: it is forwarded byte for byte.
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
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
                {
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
                        model = reader.GetString();
                        continue;
                    }
                    if (reader.ValueTextEquals("stream"u8))
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
                        stream = reader.TokenType == JsonTokenType.True;
                        continue;
                    }
                }
            }
        }
        catch (JsonException ex)
        {
            // The reader's message names the token and position but never quotes string content.
            error = $"malformed JSON at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine}: {TrimMessage(ex.Message)}";
            return false;
        }
        info = new MessagesRequestInfo(model, stream);
        error = null;
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
