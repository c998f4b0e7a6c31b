namespace Airlock.Gateway.Pipeline;

/// <summary>
/// What a door learned from the request line before the body is read: the operation, the body shape, and for
/// doors that carry them in the path, the model and whether the answer streams. A problem the door found in the
/// path is reported only after the caller was identified (unauthenticated callers learn nothing about routes).
/// </summary>
internal sealed record DoorRequest(CallOperation Operation, BodyShape Shape)
{
    /// <summary>The model named in the path (Bedrock, Vertex), or null when the body names it.</summary>
    public string? PathModel { get; init; }

    /// <summary>Streaming as the path says (Bedrock <c>invoke-with-response-stream</c>), or null when the body says.</summary>
    public bool? PathStream { get; init; }

    /// <summary>The client's Messages path and query, for the Messages door (see <see cref="MessagesCall.MessagesPathAndQuery"/>).</summary>
    public string? MessagesPathAndQuery { get; init; }

    /// <summary>
    /// The body wraps the request (Bedrock <c>CountTokens</c>: <c>{"input":{"invokeModel":{"body":"&lt;base64&gt;"}}}</c>): the
    /// pipeline unwraps the InvokeModel body before validating, inspecting and forwarding it.
    /// </summary>
    public bool WrapsInvokeBody { get; init; }

    /// <summary>A problem with the path (bad model id, region not allowed), reported after authentication.</summary>
    public Refusal? Refusal { get; init; }
}
