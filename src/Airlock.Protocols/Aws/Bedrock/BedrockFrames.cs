using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using Airlock.Protocols.Aws.EventStream;

namespace Airlock.Protocols.Aws.Bedrock;

/// <summary>
/// The frames of Bedrock's <c>InvokeModelWithResponseStream</c> response: each Anthropic stream event travels as an
/// <c>event</c> frame with <c>:event-type chunk</c> whose JSON payload is <c>{"bytes":"&lt;base64 of the event JSON&gt;"}</c>
/// (Bedrock Runtime API reference, <c>PayloadPart</c>); errors travel as exception frames.
/// </summary>
public static class BedrockFrames
{
    /// <summary>Response content type of the streaming call.</summary>
    public const string ContentType = "application/vnd.amazon.eventstream";

    /// <summary>Header Bedrock adds to a stream response: the content type of the chunk payloads.</summary>
    public const string PayloadContentTypeHeader = "X-Amzn-Bedrock-Content-Type";

    private static ReadOnlySpan<byte> ChunkPrefix => "{\"bytes\":\""u8;

    private static ReadOnlySpan<byte> ChunkSuffix => "\"}"u8;

    /// <summary>Writes one <c>chunk</c> frame carrying <paramref name="eventJson"/> (one Anthropic stream event), base64 encoded in place.</summary>
    public static void WriteChunk(IBufferWriter<byte> output, ReadOnlySpan<byte> eventJson)
    {
        ArgumentNullException.ThrowIfNull(output);
        var base64Length = Base64.GetMaxEncodedToUtf8Length(eventJson.Length);
        var payloadLength = ChunkPrefix.Length + base64Length + ChunkSuffix.Length;
        var headersLength = EventStreamWriter.StringHeaderLength(EventStreamHeaderNames.EventType, "chunk"u8)
            + EventStreamWriter.StringHeaderLength(EventStreamHeaderNames.ContentType, "application/json"u8)
            + EventStreamWriter.StringHeaderLength(EventStreamHeaderNames.MessageType, "event"u8);
        var frame = EventStreamWriter.Begin(output, headersLength, payloadLength, out var total);
        var position = 12;
        position += EventStreamWriter.WriteStringHeader(frame[position..], EventStreamHeaderNames.EventType, "chunk"u8);
        position += EventStreamWriter.WriteStringHeader(frame[position..], EventStreamHeaderNames.ContentType, "application/json"u8);
        position += EventStreamWriter.WriteStringHeader(frame[position..], EventStreamHeaderNames.MessageType, "event"u8);
        ChunkPrefix.CopyTo(frame[position..]);
        position += ChunkPrefix.Length;
        Base64.EncodeToUtf8(eventJson, frame[position..], out _, out var written);
        position += written;
        ChunkSuffix.CopyTo(frame[position..]);
        EventStreamWriter.Finish(output, frame, total);
    }

    /// <summary>Writes an exception frame for <paramref name="error"/> with payload <c>{"message":…}</c>.</summary>
    public static void WriteException(IBufferWriter<byte> output, BedrockErrorShape error, string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        EventStreamWriter.WriteException(output, BedrockErrors.Utf8(error.StreamExceptionType), BedrockErrors.Body(message));
    }

    /// <summary>
    /// Decodes a <c>chunk</c> payload into the event JSON it carries, appended to <paramref name="eventJson"/>. False when the
    /// payload is not <c>{"bytes":"&lt;base64&gt;", …}</c> (other members, such as the <c>p</c> padding, are ignored).
    /// </summary>
    public static bool TryDecodeChunk(ReadOnlySpan<byte> payload, IBufferWriter<byte> eventJson)
    {
        ArgumentNullException.ThrowIfNull(eventJson);
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isBytes = reader.ValueTextEquals("bytes"u8);
                reader.Read();
                if (!isBytes)
                {
                    reader.Skip();
                    continue;
                }
                if (reader.TokenType != JsonTokenType.String)
                {
                    return false;
                }
                // Base64 text has no characters JSON must escape; an escaped value (\/) is still legal JSON, so unescape then.
                var encoded = reader.ValueIsEscaped ? reader.GetString()!.Select(c => (byte)c).ToArray() : reader.ValueSpan;
                var destination = eventJson.GetSpan(Base64.GetMaxDecodedFromUtf8Length(encoded.Length));
                if (Base64.DecodeFromUtf8(encoded, destination, out _, out var written) != OperationStatus.Done)
                {
                    return false;
                }
                eventJson.Advance(written);
                return true;
            }
        }
        catch (JsonException)
        {
        }
        return false;
    }
}
