using System.Text.Json;
using Airlock.Protocols.Sse;

namespace Airlock.Protocols.Messages;

/// <summary>
/// Follows a Messages answer (streamed or not) and keeps what the audit trail needs: token usage,
/// whether the stream completed with <c>message_stop</c>, and any in-stream error type.
/// See https://docs.anthropic.com/en/docs/build-with-claude/streaming for the event sequence.
/// </summary>
public sealed class MessagesUsageTracker : ISseEventSink
{
    /// <summary>Input tokens (<c>message_start.message.usage.input_tokens</c>, updated by <c>message_delta</c> when present).</summary>
    public long? InputTokens { get; private set; }

    /// <summary>Output tokens (last <c>message_delta.usage.output_tokens</c>).</summary>
    public long? OutputTokens { get; private set; }

    /// <summary>Prompt-cache read tokens.</summary>
    public long? CacheReadTokens { get; private set; }

    /// <summary>Prompt-cache creation tokens.</summary>
    public long? CacheCreationTokens { get; private set; }

    /// <summary>True once <c>message_stop</c> was seen.</summary>
    public bool Completed { get; private set; }

    /// <summary>The <c>error.type</c> of an in-stream <c>error</c> event, if one arrived.</summary>
    public string? StreamErrorType { get; private set; }

    /// <inheritdoc/>
    public void OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        if (eventType.SequenceEqual("message_start"u8))
        {
            ReadUsage(data, usageDepth: 2);
        }
        else if (eventType.SequenceEqual("message_delta"u8))
        {
            ReadUsage(data, usageDepth: 1);
        }
        else if (eventType.SequenceEqual("message_stop"u8))
        {
            Completed = true;
        }
        else if (eventType.SequenceEqual("error"u8))
        {
            StreamErrorType = ReadErrorType(data) ?? "error";
        }
    }

    /// <summary>Reads usage from a complete (non-streamed) Messages response body.</summary>
    public void ReadMessage(ReadOnlySpan<byte> json)
    {
        ReadUsage(json, usageDepth: 1);
        Completed = true;
    }

    private void ReadUsage(ReadOnlySpan<byte> json, int usageDepth)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == usageDepth && reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        return;
                    }
                    var depth = reader.CurrentDepth;
                    while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
                    {
                        if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != depth + 1)
                        {
                            continue;
                        }
                        var property = reader.ValueSpan;
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value))
                        {
                            reader.Skip();
                            continue;
                        }
                        if (property.SequenceEqual("input_tokens"u8))
                        {
                            InputTokens = value;
                        }
                        else if (property.SequenceEqual("output_tokens"u8))
                        {
                            OutputTokens = value;
                        }
                        else if (property.SequenceEqual("cache_read_input_tokens"u8))
                        {
                            CacheReadTokens = value;
                        }
                        else if (property.SequenceEqual("cache_creation_input_tokens"u8))
                        {
                            CacheCreationTokens = value;
                        }
                    }
                    return;
                }
            }
        }
        catch (JsonException)
        {
            // A malformed event from the upstream is relayed as is; usage simply stays unknown.
        }
    }

    private static string? ReadErrorType(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 2 && reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }
}
