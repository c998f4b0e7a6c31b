namespace Airlock.Protocols.Aws.EventStream;

/// <summary>Which rule a corrupt or oversized event-stream frame broke.</summary>
public enum EventStreamError
{
    /// <summary>The total length is below the 16-byte minimum (prelude + message CRC).</summary>
    MessageTooShort,

    /// <summary>The total length exceeds the decoder's limit.</summary>
    MessageTooLong,

    /// <summary>The CRC-32 of the first 8 bytes does not match the prelude CRC.</summary>
    PreludeChecksumMismatch,

    /// <summary>The headers length does not fit in the message, or exceeds the decoder's limit.</summary>
    InvalidHeadersLength,

    /// <summary>The CRC-32 of the message does not match its trailing CRC.</summary>
    MessageChecksumMismatch,

    /// <summary>A header name length is 0 or runs past the headers block.</summary>
    InvalidHeaderNameLength,

    /// <summary>A header value type code is not 0–9.</summary>
    InvalidHeaderValueType,

    /// <summary>A header value runs past the headers block.</summary>
    InvalidHeaderValue,

    /// <summary>The stream ended inside a frame.</summary>
    Truncated,
}

/// <summary>
/// A corrupt event-stream frame. The message says which check failed, in which frame and at which stream offset;
/// it never quotes payload bytes (they may hold model output or credentials).
/// </summary>
public sealed class EventStreamFormatException : FormatException
{
    public EventStreamFormatException()
    {
    }

    public EventStreamFormatException(string message)
        : base(message)
    {
    }

    public EventStreamFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for <paramref name="error"/> in frame <paramref name="frameIndex"/>.</summary>
    public EventStreamFormatException(EventStreamError error, long frameIndex, long streamOffset, string detail)
        : base($"event-stream frame {frameIndex} at byte {streamOffset}: {detail}")
    {
        Error = error;
        FrameIndex = frameIndex;
        StreamOffset = streamOffset;
    }

    /// <summary>The rule the frame broke.</summary>
    public EventStreamError Error { get; }

    /// <summary>0-based index of the frame in the stream.</summary>
    public long FrameIndex { get; }

    /// <summary>Offset of the frame's first byte in the stream.</summary>
    public long StreamOffset { get; }
}
