using Airlock.Protocols.Json;

namespace Airlock.Gateway.Pipeline;

/// <summary>Which Messages operation a call is.</summary>
internal enum CallOperation
{
    /// <summary>Create a message (<c>/v1/messages</c>, Bedrock invoke, Vertex rawPredict).</summary>
    Messages,

    /// <summary>Count the tokens of a request (<c>/v1/messages/count_tokens</c>, Vertex <c>count-tokens:rawPredict</c>).</summary>
    CountTokens,
}

/// <summary>
/// The JSON shape a request body arrives in. All three carry the Messages request fields; they differ only in
/// where <c>model</c>, <c>stream</c>, the API version and the betas live.
/// </summary>
internal enum BodyShape
{
    /// <summary>Anthropic Messages: <c>model</c> and <c>stream</c> in the body, version and betas in headers.</summary>
    Messages,

    /// <summary>Bedrock InvokeModel: no <c>model</c>/<c>stream</c> (both in the path), <c>anthropic_version</c> and an <c>anthropic_beta</c> array in the body.</summary>
    Bedrock,

    /// <summary>Vertex rawPredict: no <c>model</c> (in the path), <c>stream</c> in the body, <c>anthropic_version</c> in the body, betas in the header.</summary>
    Vertex,
}

/// <summary>
/// One Messages call as a front door read it: the operation, the requested model (from the body or the path),
/// whether the answer streams, and the body bytes in the door's shape (after redaction, never re-serialized).
/// Upstream adapters turn it into their own request.
/// </summary>
internal sealed class MessagesCall
{
    public required CallOperation Operation { get; init; }

    /// <summary>The model the client asked for; routes match on it.</summary>
    public required string Model { get; init; }

    /// <summary>The client asked for a streamed answer.</summary>
    public required bool Stream { get; init; }

    /// <summary>The shape of <see cref="Body"/>.</summary>
    public required BodyShape Shape { get; init; }

    /// <summary>The body bytes to forward (the client's, with redactions spliced in).</summary>
    public ReadOnlyMemory<byte> Body
    {
        get;
        set
        {
            field = value;
            _layout = null;
        }
    }

    private JsonObjectLayout? _layout;

    /// <summary>
    /// Where <see cref="Body"/>'s top-level members lie: the layout the validation pass took when the body is the
    /// client's bytes unchanged (<see cref="WithLayout"/>), else read once on first use.
    /// </summary>
    public JsonObjectLayout Layout => _layout ??= JsonObjectLayout.Read(Body.Span);

    /// <summary>Adopts <paramref name="layout"/> when it was taken from bytes of <see cref="Body"/>'s length (the caller vouches they are the same bytes).</summary>
    public MessagesCall WithLayout(JsonObjectLayout? layout)
    {
        if (layout is not null && layout.BodyLength == Body.Length)
        {
            _layout = layout;
        }
        return this;
    }

    /// <summary>
    /// The client's path and query when the door is the Messages door (<c>/v1/messages?beta=true</c>): a Messages
    /// upstream receives it unchanged. Null for doors whose paths mean nothing to a Messages server.
    /// </summary>
    public string? MessagesPathAndQuery { get; init; }
}
