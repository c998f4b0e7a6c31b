using System.Buffers;
using System.Text;
using System.Text.Json;
using Airlock.Protocols.Aws.EventStream;
using Airlock.Protocols.Messages;

namespace Airlock.Protocols.Aws.Bedrock;

/// <summary>A stream error the translator met (an exception or error frame, or a chunk it could not read).</summary>
/// <param name="AnthropicType">The Anthropic error type it was mapped to.</param>
/// <param name="BedrockType">The frame's <c>:exception-type</c> / <c>:error-code</c>, or <c>invalidChunk</c>.</param>
/// <param name="Message">The upstream message (upstream text, not gateway text).</param>
public sealed record BedrockStreamError(string AnthropicType, string BedrockType, string Message);

/// <summary>
/// Translates a Bedrock <c>InvokeModelWithResponseStream</c> body (event-stream frames) into Messages SSE bytes
/// (<c>event: &lt;type&gt;\ndata: &lt;json&gt;\n\n</c>), incrementally: feed the upstream bytes as they arrive and write
/// what comes out to the client at once. Each chunk's event JSON is forwarded byte for byte (Bedrock's extra
/// <c>amazon-bedrock-invocationMetrics</c> member on <c>message_stop</c> included). An exception or error frame becomes
/// an SSE <c>error</c> event with the mapped Anthropic type, and <see cref="Error"/> is set. Frames of an unknown
/// <c>:event-type</c> are skipped, as the AWS SDK unmarshallers do. A corrupt frame throws
/// <see cref="EventStreamFormatException"/>; the caller then ends the SSE stream with its own <c>error</c> event.
/// </summary>
public sealed class BedrockFramesToSse : IEventStreamFrameHandler, IDisposable
{
    private readonly EventStreamDecoder _decoder;
    private readonly ArrayBufferWriter<byte> _eventJson = new(4096);
    private IBufferWriter<byte>? _output;

    /// <summary>Creates a translator with the decoder's frame size limit.</summary>
    public BedrockFramesToSse(int maxMessageLength = EventStreamDecoder.DefaultMaxMessageLength)
    {
        _decoder = new EventStreamDecoder(maxMessageLength);
    }

    /// <summary>The first error frame met, or null.</summary>
    public BedrockStreamError? Error { get; private set; }

    /// <summary>True once a <c>message_stop</c> event went through.</summary>
    public bool SawMessageStop { get; private set; }

    /// <summary>Events written so far.</summary>
    public int EventCount { get; private set; }

    /// <summary>Translates <paramref name="chunk"/>, appending SSE bytes to <paramref name="sse"/>.</summary>
    /// <exception cref="EventStreamFormatException">A frame is corrupt.</exception>
    public void Feed(ReadOnlySpan<byte> chunk, IBufferWriter<byte> sse)
    {
        ArgumentNullException.ThrowIfNull(sse);
        _output = sse;
        try
        {
            _decoder.Feed(chunk, this);
        }
        finally
        {
            _output = null;
        }
    }

    /// <summary>Call when the upstream body ended: throws when it stopped inside a frame.</summary>
    public void Complete() => _decoder.Complete();

    void IEventStreamFrameHandler.OnFrame(EventStreamFrame frame)
    {
        var output = _output!;
        if (!frame.TryGetString(EventStreamHeaderNames.MessageType, out var messageType) || messageType.SequenceEqual("event"u8))
        {
            if (frame.TryGetString(EventStreamHeaderNames.EventType, out var eventType) && !eventType.SequenceEqual("chunk"u8))
            {
                return;
            }
            _eventJson.ResetWrittenCount();
            if (!BedrockFrames.TryDecodeChunk(frame.Payload, _eventJson))
            {
                WriteError(output, new BedrockStreamError(AnthropicErrors.Api, "invalidChunk", "Bedrock sent a chunk whose payload is not {\"bytes\":\"<base64>\"}"));
                return;
            }
            WriteEvent(output, _eventJson.WrittenSpan);
            return;
        }
        if (messageType.SequenceEqual("exception"u8))
        {
            var type = frame.TryGetString(EventStreamHeaderNames.ExceptionType, out var exceptionType)
                ? Encoding.UTF8.GetString(exceptionType)
                : "unknownException";
            var message = BedrockErrors.ReadMessage(frame.Payload) ?? $"Bedrock stream exception {type}";
            WriteError(output, new BedrockStreamError(BedrockErrors.AnthropicTypeForException(type), type, message));
            return;
        }
        var code = frame.TryGetString(EventStreamHeaderNames.ErrorCode, out var errorCode) ? Encoding.UTF8.GetString(errorCode) : "unknownError";
        var text = frame.TryGetString(EventStreamHeaderNames.ErrorMessage, out var errorMessage)
            ? Encoding.UTF8.GetString(errorMessage)
            : $"Bedrock stream error {code}";
        WriteError(output, new BedrockStreamError(BedrockErrors.AnthropicTypeForException(code), code, text));
    }

    private void WriteEvent(IBufferWriter<byte> output, ReadOnlySpan<byte> json)
    {
        var type = ReadType(json);
        Write(output, "event: "u8);
        Write(output, type);
        Write(output, "\n"u8);
        // One data line per line of the JSON: compact JSON has none, but a pretty-printed event must stay one SSE event.
        while (true)
        {
            var newline = json.IndexOfAny((byte)'\n', (byte)'\r');
            Write(output, "data: "u8);
            if (newline < 0)
            {
                Write(output, json);
                Write(output, "\n"u8);
                break;
            }
            Write(output, json[..newline]);
            Write(output, "\n"u8);
            json = json[(newline + 1)..];
        }
        Write(output, "\n"u8);
        EventCount++;
        if (type.SequenceEqual("message_stop"u8))
        {
            SawMessageStop = true;
        }
    }

    private void WriteError(IBufferWriter<byte> output, BedrockStreamError error)
    {
        Error ??= error;
        Write(output, AnthropicErrors.SseEvent(error.AnthropicType, error.Message));
        EventCount++;
    }

    /// <summary>The top-level <c>type</c> of an event (raw JSON string bytes), or <c>message</c> when absent.</summary>
    private static ReadOnlySpan<byte> ReadType(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isType = reader.ValueTextEquals("type"u8);
                    reader.Read();
                    if (isType && reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped
                        && reader.ValueSpan.IndexOfAny((byte)'\n', (byte)'\r') < 0)
                    {
                        var start = (int)reader.TokenStartIndex + 1;
                        return json.Slice(start, reader.ValueSpan.Length);
                    }
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
        }
        return "message"u8;
    }

    private static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    public void Dispose() => _decoder.Dispose();
}
