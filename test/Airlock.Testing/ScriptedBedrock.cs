using System.Text;
using System.Text.Json;
using Airlock.Protocols.Aws.Bedrock;
using Microsoft.AspNetCore.Http;

namespace Airlock.Testing;

/// <summary>One call the <see cref="ScriptedBedrock"/> received.</summary>
/// <param name="Request">Method, raw path, headers and body exactly as received.</param>
/// <param name="ModelId">The model id decoded from the path (null when the path was refused).</param>
/// <param name="Streaming">True for <c>invoke-with-response-stream</c>.</param>
/// <param name="Betas">The body's <c>anthropic_beta</c> values.</param>
/// <param name="CountTokens">True for <c>count-tokens</c> (the body then is the unwrapped InvokeModel body in <see cref="InvokeBody"/>).</param>
/// <param name="InvokeBody">The InvokeModel body of a count-tokens call.</param>
public sealed record BedrockCall(RecordedRequest Request, string? ModelId, bool Streaming, IReadOnlyList<string> Betas, bool CountTokens = false, byte[]? InvokeBody = null);

/// <summary>
/// A fake Bedrock Runtime for Anthropic models. It checks what Bedrock checks — the SigV4 signature (or API key) via
/// <see cref="BedrockSigV4Verifier"/>, the model id in the path, the body (JSON object, <c>anthropic_version</c> =
/// <c>bedrock-2023-05-31</c>, <c>max_tokens</c> and <c>messages</c> present, no <c>model</c> or <c>stream</c>, only accepted
/// betas) — and answers like Bedrock: <c>invoke</c> with the message JSON, <c>invoke-with-response-stream</c> with
/// event-stream <c>chunk</c> frames, errors as <c>{"message":…}</c> with <c>x-amzn-ErrorType</c> or as exception frames.
/// Replies come from the same <see cref="UpstreamReply"/> scripts as <see cref="ScriptedUpstream"/>.
/// Use <see cref="StartAsync"/> for its own Kestrel on 127.0.0.1:0, or call <see cref="HandleAsync"/> from another host.
/// </summary>
public sealed class ScriptedBedrock : IAsyncDisposable
{
    private readonly ScriptLog<BedrockCall> _log = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _rejections = new();
    private LoopbackServer? _server;
    private int _sequence;

    public ScriptedBedrock(BedrockSigV4Verifier verifier)
    {
        Verifier = verifier ?? throw new ArgumentNullException(nameof(verifier));
    }

    /// <summary>Signature checks (region, test credentials, clock).</summary>
    public BedrockSigV4Verifier Verifier { get; }

    /// <summary>A path prefix before <c>/model/…</c> (e.g. <c>/bedrock</c>); empty for a real Bedrock layout.</summary>
    public string PathPrefix { get; init; } = "";

    /// <summary>Model ids this fake serves; null accepts any well-formed id. Others get 404 <c>ResourceNotFoundException</c>.</summary>
    public IReadOnlySet<string>? Models { get; init; }

    /// <summary>
    /// Betas Bedrock accepts in <c>anthropic_beta</c>; null accepts any. Others get 400 <c>ValidationException</c>
    /// "invalid beta flag", which is what Bedrock answers to a beta it does not know.
    /// </summary>
    public IReadOnlySet<string>? AcceptedBetas { get; init; }

    /// <summary>Answer when no responder chose one and the queue is empty.</summary>
    public UpstreamReply DefaultReply { get; set; } = UpstreamReply.Text("Hello from scripted Bedrock.");

    /// <summary>Chooses the reply from the call; null falls back to the queue, then <see cref="DefaultReply"/>.</summary>
    public Func<BedrockCall, UpstreamReply?>? Responder { get; set; }

    /// <summary>Base address when started with <see cref="StartAsync"/> (what a Bedrock endpoint override takes).</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Every call so far, also rejected ones.</summary>
    public IReadOnlyList<BedrockCall> Calls => _log.Calls;

    /// <summary>
    /// Every call this fake refused on its own checks (signature, path, body, model), as "<c>ErrorType: message</c>", in
    /// arrival order; scripted error replies are not refusals. An end-to-end test asserts it empty so a refused signature
    /// cannot hide behind a client that retried or gave up quietly.
    /// </summary>
    public IReadOnlyList<string> Rejections => [.. _rejections];

    /// <summary>Exceptions thrown while answering (a broken script); each also produced a 500.</summary>
    public IReadOnlyList<Exception> Failures => _log.Failures;

    /// <summary>Queues a reply for the next call the responder does not answer.</summary>
    public void Enqueue(UpstreamReply reply) => _log.Enqueue(reply);

    /// <summary>Starts a Kestrel server on 127.0.0.1:0 that answers every request with <see cref="HandleAsync"/>.</summary>
    public static async Task<ScriptedBedrock> StartAsync(ScriptedBedrock bedrock, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bedrock);
        bedrock._server = await LoopbackServer.StartAsync(bedrock.HandleAsync, cancellationToken: cancellationToken);
        bedrock.BaseUrl = bedrock._server.BaseUrl;
        return bedrock;
    }

    /// <summary>Answers one request.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var token = context.RequestAborted;
        var recorded = await LoopbackServer.ReadRequestAsync(context, Interlocked.Increment(ref _sequence), token);
        var body = recorded.Body.ToArray();
        var rawTarget = recorded.Path + recorded.QueryString;
        string? modelId = null;
        var streaming = false;
        IReadOnlyList<string> betas = [];
        try
        {
            var verdict = Verifier.Verify(context.Request, body);
            var path = rawTarget.StartsWith(PathPrefix, StringComparison.Ordinal) ? rawTarget[PathPrefix.Length..] : rawTarget;
            if (!verdict.Accepted)
            {
                Record(recorded, null, false, []);
                _rejections.Enqueue(verdict.ErrorType + ": " + verdict.Message);
                await BedrockSigV4Verifier.WriteRejectionAsync(context.Response, verdict, token);
                return;
            }
            if (!HttpMethods.IsPost(context.Request.Method) || !BedrockModelId.TryParseInvokePath(path, out var id, out var operation, out var pathError))
            {
                Record(recorded, null, false, []);
                await RejectAsync(context, BedrockErrors.Validation, "1 validation error detected: Value at 'modelId' failed to satisfy constraint", token);
                return;
            }
            modelId = id;
            if (operation == BedrockOperation.CountTokens)
            {
                await CountTokensAsync(context, recorded, id, body, token);
                return;
            }
            streaming = operation == BedrockOperation.InvokeWithResponseStream;
            var bodyError = CheckBody(body, out betas);
            var call = Record(recorded, modelId, streaming, betas);
            if (bodyError is not null)
            {
                await RejectAsync(context, BedrockErrors.Validation, bodyError, token);
                return;
            }
            if (Models is not null && !Models.Contains(modelId))
            {
                await RejectAsync(context, BedrockErrors.ResourceNotFound, "Could not resolve the foundation model from the provided model identifier.", token);
                return;
            }
            await AnswerAsync(context, call, ChooseReply(call), token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _log.Fail(ex);
            if (!context.Response.HasStarted)
            {
                await BedrockStreamWriter.WriteHttpErrorAsync(context.Response, BedrockErrors.InternalServer, "scripted Bedrock failed: " + ex.GetType().Name, token);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>
    /// CountTokens as Bedrock answers it: the wrapped body must be an InvokeModel body Bedrock would accept, the model a
    /// foundation-model id (profile ids are refused: "The provided model doesn't support counting tokens"); the count is
    /// a deterministic stand-in (a quarter of the body's bytes), since no tokenizer runs here.
    /// </summary>
    private async Task CountTokensAsync(HttpContext context, RecordedRequest recorded, string modelId, byte[] body, CancellationToken token)
    {
        if (!BedrockCountTokens.TryUnwrapInvokeBody(body, out var invokeBody, out var unwrapError))
        {
            Record(recorded, modelId, false, [], countTokens: true);
            await RejectAsync(context, BedrockErrors.Validation, "Malformed input request: " + unwrapError, token);
            return;
        }
        var bodyError = CheckBody(invokeBody, out var betas);
        Record(recorded, modelId, false, betas, countTokens: true, invokeBody);
        if (bodyError is not null)
        {
            await RejectAsync(context, BedrockErrors.Validation, bodyError, token);
            return;
        }
        if (BedrockModelId.FoundationModelId(modelId) != modelId)
        {
            await RejectAsync(context, BedrockErrors.Validation, "The provided model doesn't support counting tokens.", token);
            return;
        }
        await WriteJsonAsync(context, Encoding.UTF8.GetString(BedrockCountTokens.Answer(invokeBody.Length / 4)), token);
    }

    /// <summary>Answers a refusal of this fake's own checks and notes it in <see cref="Rejections"/>.</summary>
    private Task RejectAsync(HttpContext context, BedrockErrorShape error, string message, CancellationToken token)
    {
        _rejections.Enqueue(error.ErrorType + ": " + message);
        return BedrockStreamWriter.WriteHttpErrorAsync(context.Response, error, message, token);
    }

    private BedrockCall Record(RecordedRequest request, string? modelId, bool streaming, IReadOnlyList<string> betas, bool countTokens = false, byte[]? invokeBody = null)
    {
        var call = new BedrockCall(request, modelId, streaming, betas, countTokens, invokeBody);
        _log.Add(call);
        return call;
    }

    private UpstreamReply ChooseReply(BedrockCall call)
    {
        var chosen = Responder?.Invoke(call);
        if (chosen is not null)
        {
            return chosen;
        }
        return _log.Next(DefaultReply);
    }

    /// <summary>Bedrock's body checks for Anthropic models, with its messages (AWS user guide, Claude Messages API on Bedrock).</summary>
    private string? CheckBody(byte[] body, out IReadOnlyList<string> betas)
    {
        betas = [];
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return "Malformed input request, please reformat your input and try again.";
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return "Malformed input request, please reformat your input and try again.";
            }
            if (root.TryGetProperty("anthropic_beta", out var betaArray))
            {
                if (betaArray.ValueKind != JsonValueKind.Array || betaArray.EnumerateArray().Any(b => b.ValueKind != JsonValueKind.String))
                {
                    return "Malformed input request: #/anthropic_beta: expected type: JSONArray, please reformat your input and try again.";
                }
                betas = betaArray.EnumerateArray().Select(b => b.GetString()!).ToList();
            }
            foreach (var name in new[] { "model", "stream" })
            {
                if (root.TryGetProperty(name, out _))
                {
                    return $"Malformed input request: #: extraneous key [{name}] is not permitted, please reformat your input and try again.";
                }
            }
            if (!root.TryGetProperty("anthropic_version", out var version) || version.ValueKind != JsonValueKind.String)
            {
                return "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.";
            }
            if (version.GetString() != BedrockEndpoint.AnthropicVersion)
            {
                return "Invalid API version";
            }
            foreach (var name in new[] { "max_tokens", "messages" })
            {
                if (!root.TryGetProperty(name, out _))
                {
                    return $"Malformed input request: #: required key [{name}] not found, please reformat your input and try again.";
                }
            }
            var unknown = AcceptedBetas is null ? null : betas.FirstOrDefault(b => !AcceptedBetas.Contains(b));
            if (unknown is not null)
            {
                return "invalid beta flag";
            }
        }
        return null;
    }

    private static async Task AnswerAsync(HttpContext context, BedrockCall call, UpstreamReply reply, CancellationToken token)
    {
        if (reply.FirstByteDelay > TimeSpan.Zero)
        {
            await Task.Delay(reply.FirstByteDelay, token);
        }
        var model = call.ModelId!;
        var messageId = "msg_bdrk_" + Guid.NewGuid().ToString("N")[..24];
        switch (reply)
        {
            case HangReply:
                await Task.Delay(Timeout.InfiniteTimeSpan, token);
                return;
            case ErrorReply error:
                await BedrockStreamWriter.WriteHttpErrorAsync(context.Response, BedrockErrors.ForAnthropicType(error.Type), error.Message, token);
                return;
            case TextReply text when call.Streaming:
                await StreamAsync(context, reply, MessagesEvents.ForText(messageId, model, text.Content, text.InputTokens, text.OutputTokens), null, token);
                return;
            case TextReply text:
                await WriteJsonAsync(context, MessagesEvents.TextMessage(messageId, model, text.Content, text.InputTokens, text.OutputTokens), token);
                return;
            case ToolUseReply tool:
                var toolUseId = tool.ToolUseId ?? "toolu_bdrk_" + Guid.NewGuid().ToString("N")[..20];
                if (call.Streaming)
                {
                    await StreamAsync(context, reply, MessagesEvents.ForToolUse(messageId, model, toolUseId, tool.ToolName, tool.InputJson, tool.InputTokens, tool.OutputTokens), null, token);
                }
                else
                {
                    await WriteJsonAsync(context, MessagesEvents.ToolUseMessage(messageId, model, toolUseId, tool.ToolName, tool.InputJson, tool.InputTokens, tool.OutputTokens), token);
                }
                return;
            case DieMidStreamReply die when call.Streaming:
                var events = MessagesEvents.ForText(messageId, model, die.Content, 25, 10);
                await StreamAsync(context, reply, events.Take(Math.Min(die.AfterEvents, events.Count - 1)).ToList(), null, token);
                await Task.Delay(die.PauseBeforeAbort, token);
                context.Abort();
                return;
            case StreamErrorReply streamError when call.Streaming:
                var partial = MessagesEvents.ForText(messageId, model, "This answer stops with an error.", 25, 10);
                await StreamAsync(context, reply, partial.Take(Math.Min(streamError.AfterEvents, partial.Count - 1)).ToList(),
                    (BedrockErrors.ForAnthropicType(streamError.Type), streamError.Message), token);
                return;
            case StreamErrorReply streamError:
                await BedrockStreamWriter.WriteHttpErrorAsync(context.Response, BedrockErrors.ForAnthropicType(streamError.Type), streamError.Message, token);
                return;
            default:
                throw new InvalidOperationException($"ScriptedBedrock cannot play {reply.GetType().Name} for this call.");
        }
    }

    private static async Task StreamAsync(HttpContext context, UpstreamReply reply, IReadOnlyList<SseEvent> events,
        (BedrockErrorShape Shape, string Message)? endWithException, CancellationToken token)
    {
        ApplyExtraHeaders(context, reply);
        var writer = new BedrockStreamWriter(context.Response);
        await writer.StartAsync(token);
        foreach (var e in events)
        {
            // Bedrock does not relay the Messages API's ping events.
            if (e.Name == "ping")
            {
                continue;
            }
            if (reply.EventDelay > TimeSpan.Zero)
            {
                await Task.Delay(reply.EventDelay, token);
            }
            await writer.WriteEventAsync(e.Data, token);
        }
        if (endWithException is { } exception)
        {
            await writer.WriteExceptionAsync(exception.Shape, exception.Message, token);
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, string json, CancellationToken token)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(json), token);
    }

    private static void ApplyExtraHeaders(HttpContext context, UpstreamReply reply)
    {
        foreach (var (name, value) in reply.ExtraHeaders)
        {
            context.Response.Headers[name] = value;
        }
    }
}
