// The member names are the event-stream specification's type names (aws-c-event-stream, smithy-rs).
#pragma warning disable CA1720

namespace Airlock.Protocols.Aws.EventStream;

/// <summary>
/// Header value types of the AWS event-stream encoding (<c>application/vnd.amazon.eventstream</c>), with their wire
/// codes. Source: awslabs/aws-c-event-stream <c>include/aws/event-stream/event_stream.h</c>,
/// smithy-rs <c>aws-smithy-eventstream/src/frame.rs</c>.
/// </summary>
public enum EventStreamHeaderType : byte
{
    /// <summary>Boolean true; no value bytes.</summary>
    BoolTrue = 0,

    /// <summary>Boolean false; no value bytes.</summary>
    BoolFalse = 1,

    /// <summary>Signed 8-bit integer.</summary>
    Byte = 2,

    /// <summary>Signed 16-bit big-endian integer.</summary>
    Int16 = 3,

    /// <summary>Signed 32-bit big-endian integer.</summary>
    Int32 = 4,

    /// <summary>Signed 64-bit big-endian integer.</summary>
    Int64 = 5,

    /// <summary>Bytes: u16 big-endian length, then the bytes.</summary>
    ByteArray = 6,

    /// <summary>UTF-8 string: u16 big-endian length, then the bytes.</summary>
    String = 7,

    /// <summary>Milliseconds since the Unix epoch, signed 64-bit big-endian.</summary>
    Timestamp = 8,

    /// <summary>16 bytes.</summary>
    Uuid = 9,
}
