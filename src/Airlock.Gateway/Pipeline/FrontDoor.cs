using Microsoft.AspNetCore.Http;

namespace Airlock.Gateway.Pipeline;

/// <summary>
/// A protocol clients speak to the gateway (Messages, Bedrock, Vertex). The pipeline is the same for every door;
/// a door decides how a request is read (its routes and path parsing, in its endpoint handlers), how errors are
/// shaped, and how a Messages-shaped answer is written back.
/// </summary>
internal abstract class FrontDoor
{
    /// <summary>The door's name in the audit trail (<c>messages</c>, <c>bedrock</c>, <c>vertex</c>).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// True when an answer from an upstream that speaks Messages (status, headers, SSE or JSON body, Anthropic
    /// errors) can be relayed byte for byte: the gateway's fast path.
    /// </summary>
    public virtual bool RelaysMessagesVerbatim => false;

    /// <summary>Content type of a streamed answer written by this door when it is not relayed verbatim.</summary>
    public virtual string StreamContentType => "text/event-stream; charset=utf-8";

    /// <summary>Sets what a rewritten streamed answer needs besides its content type (e.g. Bedrock's payload content type header).</summary>
    public virtual void PrepareStream(HttpResponse response)
    {
    }

    /// <summary>Writes <paramref name="error"/> as this door's error response (the response has not started). Returns the bytes written.</summary>
    public abstract ValueTask<int> WriteErrorAsync(HttpContext context, GatewayError error);

    /// <summary>The bytes that tell a client whose streamed answer already started that it failed (SSE <c>error</c> event, exception frame).</summary>
    public abstract ReadOnlyMemory<byte> StreamError(GatewayError error);

    /// <summary>
    /// An encoder that turns the Messages SSE events of a streamed answer into this door's wire format, or null
    /// when Messages SSE bytes are what the client expects.
    /// </summary>
    public virtual AnswerEncoder? CreateStreamEncoder() => null;

    /// <summary>
    /// Rewrites a Messages JSON answer to <paramref name="operation"/> into the door's own shape (e.g. Bedrock CountTokens'
    /// <c>{"inputTokens":N}</c>), or null when the door answers it as Messages does.
    /// </summary>
    public virtual Upstreams.ResponseTranslator? CreateAnswerTranslator(string operation) => null;
}

/// <summary>Turns Messages SSE events into a door's stream format (e.g. AWS event-stream frames), one event at a time.</summary>
internal abstract class AnswerEncoder : Protocols.Sse.ISseEventSink
{
    /// <summary>Bytes produced since the last <see cref="Clear"/>.</summary>
    public abstract ReadOnlyMemory<byte> Pending { get; }

    /// <summary>Forgets <see cref="Pending"/> once written.</summary>
    public abstract void Clear();

    /// <inheritdoc/>
    public abstract void OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data);
}
