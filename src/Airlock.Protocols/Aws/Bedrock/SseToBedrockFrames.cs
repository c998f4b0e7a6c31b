using System.Buffers;
using Airlock.Protocols.Sse;

namespace Airlock.Protocols.Aws.Bedrock;

/// <summary>
/// Translates a Messages SSE stream into the event-stream body of Bedrock's <c>InvokeModelWithResponseStream</c>, for the
/// Bedrock front door: every SSE event's data becomes one <c>chunk</c> frame (base64 JSON), byte for byte; an SSE
/// <c>error</c> event becomes an exception frame of the mapped Bedrock type (<see cref="BedrockErrors.ForAnthropicType"/>),
/// which the AWS SDKs surface as a thrown error. Feed upstream bytes as they arrive and send what comes out at once.
/// </summary>
public sealed class SseToBedrockFrames : ISseEventSink, IDisposable
{
    private readonly SseEventParser _parser = new();
    private IBufferWriter<byte>? _output;

    /// <summary>Events translated so far.</summary>
    public int EventCount { get; private set; }

    /// <summary>True once a <c>message_stop</c> event went through.</summary>
    public bool SawMessageStop { get; private set; }

    /// <summary>True once an <c>error</c> event became an exception frame.</summary>
    public bool SawError { get; private set; }

    /// <summary>Translates <paramref name="chunk"/> of SSE bytes, appending frames to <paramref name="frames"/>.</summary>
    public void Feed(ReadOnlySpan<byte> chunk, IBufferWriter<byte> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        _output = frames;
        try
        {
            _parser.Feed(chunk, this);
        }
        finally
        {
            _output = null;
        }
    }

    /// <summary>Writes the exception frame for an error the gateway itself raises mid-stream (e.g. the upstream died).</summary>
    public static void WriteError(IBufferWriter<byte> frames, string anthropicErrorType, string message) =>
        BedrockFrames.WriteException(frames, BedrockErrors.ForAnthropicType(anthropicErrorType), message);

    void ISseEventSink.OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        EventCount++;
        if (eventType.SequenceEqual("error"u8))
        {
            SawError = true;
            var (type, message) = BedrockErrors.ReadAnthropicError(data);
            WriteError(_output!, type, message);
            return;
        }
        if (eventType.SequenceEqual("message_stop"u8))
        {
            SawMessageStop = true;
        }
        BedrockFrames.WriteChunk(_output!, data);
    }

    public void Dispose() => _parser.Dispose();

}
