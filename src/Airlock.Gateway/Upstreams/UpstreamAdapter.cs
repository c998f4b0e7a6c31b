using System.Buffers;
using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Messages;
using Microsoft.AspNetCore.Http;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// How the gateway talks to one kind of upstream: it turns a <see cref="MessagesCall"/> into the upstream's own
/// request (URL, body shape, credential) and the upstream's answer back into Messages SSE or JSON. Every door
/// reaches every upstream through this one contract.
/// </summary>
internal abstract class UpstreamAdapter(UpstreamClient client)
{
    /// <summary>The beta rules (set by the registry; empty rules when none apply).</summary>
    public BetaPolicy Betas { get; init; } = new([]);

    /// <summary>The connection pool, configuration and static credential of the upstream.</summary>
    public UpstreamClient Client { get; } = client;

    /// <summary>The upstream's configuration.</summary>
    public UpstreamConfig Config => Client.Config;

    /// <summary>
    /// True when the upstream answers in the Messages protocol exactly (SSE/JSON bodies, Anthropic-shaped errors,
    /// Anthropic headers): with the Messages door the answer is relayed verbatim.
    /// </summary>
    public virtual bool SpeaksMessages => false;

    /// <summary>
    /// Called when the upstream answered 401 to the gateway's own credential: true when the adapter dropped a cached
    /// credential (an OAuth token) so that one more attempt would present a new one. Static keys cannot be renewed.
    /// </summary>
    public virtual bool RenewCredential() => false;

    /// <summary>The response header carrying the upstream's request id (kept in the audit record).</summary>
    public virtual string RequestIdHeader => "request-id";

    /// <summary>Builds the upstream request for <paramref name="call"/>, asking for <paramref name="model"/> (the routed model after mapping).</summary>
    /// <exception cref="UpstreamCredentialException">The upstream's credential could not be obtained.</exception>
    /// <exception cref="UpstreamRequestException">The call cannot be expressed for this upstream (e.g. an unsupported operation).</exception>
    public abstract ValueTask<HttpRequestMessage> CreateRequestAsync(HttpContext context, MessagesCall call, string model, CancellationToken cancellationToken);

    /// <summary>
    /// A translator from the upstream's successful answer into Messages SSE bytes, or null when the body already
    /// is Messages SSE (<c>text/event-stream</c>) or a Messages JSON message.
    /// </summary>
    public virtual ResponseTranslator? CreateTranslator(HttpResponseMessage response) => null;

    /// <summary>
    /// Looks at the start of a successful answer before anything of it reaches the client, where a failure is still one
    /// that retries and failover may cure (<see cref="EventStreamStartProbe"/>). Null when the answer is to be relayed
    /// (a probe that read bytes leaves a content that replays them); otherwise the refusal, the response disposed.
    /// </summary>
    public virtual ValueTask<Refusal?> ProbeAnswerStartAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        ValueTask.FromResult<Refusal?>(null);

    /// <summary>Reads an upstream error body into a gateway error (the status is kept; the type and message are the upstream's).</summary>
    public virtual GatewayError ReadError(HttpResponseMessage response, ReadOnlySpan<byte> body) =>
        ReadAnthropicError((int)response.StatusCode, body, Config.Name);

    /// <summary>Parses <c>{"type":"error","error":{"type":…,"message":…}}</c>; anything else becomes a typed error naming the status.</summary>
    protected static GatewayError ReadAnthropicError(int status, ReadOnlySpan<byte> body, string upstream)
    {
        string? type = null;
        string? message = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 2)
                {
                    if (reader.ValueTextEquals("type"u8) && reader.Read() && reader.TokenType == JsonTokenType.String)
                    {
                        type = reader.GetString();
                    }
                    else if (reader.ValueTextEquals("message"u8) && reader.Read() && reader.TokenType == JsonTokenType.String)
                    {
                        message = reader.GetString();
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: described by its status below.
        }
        return new GatewayError(status, type ?? AnthropicErrors.TypeForStatus(status),
            message ?? $"upstream '{upstream}' answered with status {status}");
    }

    /// <summary>Messages SSE bytes of one event: <c>event: {type}\ndata: {json}\n\n</c>.</summary>
    public static void WriteSseEvent(IBufferWriter<byte> output, ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write("event: "u8);
        output.Write(eventType);
        output.Write("\ndata: "u8);
        output.Write(data);
        output.Write("\n\n"u8);
    }
}

/// <summary>
/// Turns an upstream's streamed answer into Messages SSE bytes, chunk by chunk (e.g. AWS event-stream frames).
/// A corrupt stream or an in-band exception is reported through <see cref="Failure"/>.
/// </summary>
internal abstract class ResponseTranslator : IDisposable
{
    /// <summary>Set when the stream cannot be translated further: the audit error type and the client message.</summary>
    public Refusal? Failure { get; protected set; }

    /// <summary>True when the translated answer is a Messages SSE stream (false: a JSON message).</summary>
    public virtual bool ProducesSse => true;

    /// <summary>Translates the next chunk, appending Messages SSE bytes to <paramref name="output"/>. Returns false once <see cref="Failure"/> is set.</summary>
    public abstract bool Translate(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output);

    /// <summary>The upstream body ended; returns false (with <see cref="Failure"/>) when it ended inside a frame.</summary>
    public virtual bool Complete(IBufferWriter<byte> output) => true;

    /// <inheritdoc/>
    public virtual void Dispose()
    {
    }
}

/// <summary>The upstream's credential could not be obtained (missing, expired, token endpoint failing). The message never holds a secret.</summary>
internal sealed class UpstreamCredentialException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A call this upstream cannot serve; carries the refusal the client gets.</summary>
internal sealed class UpstreamRequestException(Refusal refusal) : Exception(refusal.Error.Message)
{
    public Refusal Refusal { get; } = refusal;
}
