using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Airlock.Protocols.Messages;

namespace Airlock.Tests.Messages;

/// <summary>
/// The test oracle for <see cref="MessagesRequestReader"/>: a deliberate, frozen copy of its
/// <see cref="Utf8JsonReader"/>-only implementation as it stood before the fast path (session 7, commit 19119dd).
/// The differential tests hold the current reader to exactly this behaviour; do not "fix" or speed it up.
/// </summary>
internal static class Utf8JsonReaderOracle
{
    /// <summary>Reads <paramref name="body"/> as the reader did before the fast path.</summary>
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
            var layout = new Airlock.Protocols.Json.JsonObjectLayout.Builder(body.Length, (int)reader.TokenStartIndex);
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
