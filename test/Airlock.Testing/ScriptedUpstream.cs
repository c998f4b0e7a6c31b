using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Airlock.Testing;

/// <summary>
/// A fake Anthropic Messages API on a real Kestrel server at <c>http://127.0.0.1:{port}</c>. It checks what a
/// provider checks (x-api-key, anthropic-version, required body fields), records every request byte for byte,
/// and answers <c>POST /v1/messages</c> from a script: a responder delegate, then a queue, then a default.
/// Also serves <c>POST /v1/messages/count_tokens</c> and <c>GET /v1/models</c>.
/// </summary>
public sealed partial class ScriptedUpstream : IAsyncDisposable
{
    public const string MessagesPath = "/v1/messages";
    public const string CountTokensPath = "/v1/messages/count_tokens";
    public const string ModelsPath = "/v1/models";

    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private readonly ScriptedUpstreamOptions _options;
    private readonly Lock _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<Exception> _failures = [];
    private readonly Queue<UpstreamReply> _replies = new();
    private readonly CancellationTokenSource _stopping = new();
    private LoopbackServer? _server;
    private TaskCompletionSource _requestArrived = NewSignal();
    private int _sequence;

    private ScriptedUpstream(ScriptedUpstreamOptions options)
    {
        _options = options;
        DefaultReply = options.DefaultReply;
        Bedrock = new ScriptedBedrock(new BedrockSigV4Verifier(BedrockRegion, null, BedrockSigV4Verifier.TestCredentials))
        {
            AcceptedBetas = options.BedrockAcceptedBetas,
        };
    }

    /// <summary>The AWS region the scripted Bedrock verifies signatures for.</summary>
    public const string BedrockRegion = "us-east-1";

    /// <summary>
    /// The Bedrock Runtime side (<c>/model/{id}/invoke[-with-response-stream]</c>): SigV4 verified with
    /// <see cref="BedrockSigV4Verifier.TestCredentials"/>, Bedrock body checks, event-stream answers. It has its own
    /// reply queue and call list.
    /// </summary>
    public ScriptedBedrock Bedrock { get; }

    /// <summary>Base address without a trailing slash, e.g. <c>http://127.0.0.1:41234</c> (what ANTHROPIC_BASE_URL takes).</summary>
    public string BaseUrl { get; private set; } = "";

    public Uri BaseUri => new(BaseUrl);

    public int Port { get; private set; }

    /// <summary>The key callers must send in <c>x-api-key</c>.</summary>
    public string ApiKey => _options.ExpectedApiKey;

    /// <summary>
    /// The Google side of Vertex: service-account file, token endpoint (<see cref="ScriptedGoogleAuth.TokenPath"/>)
    /// and the bearer check applied to <c>/v1/projects/…/publishers/anthropic/models/…:rawPredict</c> requests.
    /// </summary>
    public ScriptedGoogleAuth GoogleAuth { get; } = new();

    /// <summary>Only the Vertex rawPredict / streamRawPredict requests.</summary>
    public IReadOnlyList<RecordedRequest> VertexRequests
        => [.. Requests.Where(r => VertexPath().IsMatch(r.Path))];

    /// <summary>Answer when no responder chose one and the queue is empty.</summary>
    public UpstreamReply DefaultReply { get; set; }

    /// <summary>Chooses the reply from the request; returning null falls back to the queue, then the default.</summary>
    public Func<RecordedRequest, UpstreamReply?>? Responder { get; set; }

    /// <summary>Every request received so far (all endpoints, also rejected ones), in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>
    /// Exceptions thrown while answering (a throwing <see cref="Responder"/>, a bug here); each also produced a
    /// 500 <c>api_error</c>. Tests can assert this is empty to tell a broken script from a broken gateway.
    /// </summary>
    public IReadOnlyList<Exception> Failures
    {
        get
        {
            lock (_gate)
            {
                return [.. _failures];
            }
        }
    }

    /// <summary>Only the <c>POST /v1/messages</c> requests.</summary>
    public IReadOnlyList<RecordedRequest> MessagesRequests
        => [.. Requests.Where(r => r.Path == MessagesPath && HttpMethods.IsPost(r.Method))];

    /// <summary>Replies still waiting in the queue.</summary>
    public int PendingReplies
    {
        get
        {
            lock (_gate)
            {
                return _replies.Count;
            }
        }
    }

    /// <summary>Starts the server on a free loopback port.</summary>
    public static async Task<ScriptedUpstream> StartAsync(ScriptedUpstreamOptions? options = null, CancellationToken cancellationToken = default)
    {
        var upstream = new ScriptedUpstream(options ?? new ScriptedUpstreamOptions());
        try
        {
            await upstream.StartServerAsync(cancellationToken);
            return upstream;
        }
        catch
        {
            await upstream.DisposeAsync();
            throw;
        }
    }

    /// <summary>Queues replies for the next <c>/v1/messages</c> requests, in order.</summary>
    public void Enqueue(params UpstreamReply[] replies)
    {
        ArgumentNullException.ThrowIfNull(replies);
        lock (_gate)
        {
            foreach (var reply in replies)
            {
                _replies.Enqueue(reply);
            }
        }
    }

    /// <summary>Sets the <see cref="Responder"/> to <see cref="UpstreamScripts.ToolRoundTrip"/>.</summary>
    public void RespondWithToolRoundTrip(string toolName, object input, string finalText)
        => Responder = UpstreamScripts.ToolRoundTrip(toolName, input, finalText);

    /// <summary>Forgets the requests recorded so far (the queue and responder stay).</summary>
    public void ClearRequests()
    {
        lock (_gate)
        {
            _requests.Clear();
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> requests have been recorded.</summary>
    public Task<IReadOnlyList<RecordedRequest>> WaitForRequestsAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default)
        => WaitForRequestsAsync(count, static _ => true, timeout, cancellationToken);

    /// <summary>Waits until at least <paramref name="count"/> recorded requests match <paramref name="filter"/>; returns the matching ones.</summary>
    public async Task<IReadOnlyList<RecordedRequest>> WaitForRequestsAsync(
        int count,
        Func<RecordedRequest, bool> filter,
        TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        while (true)
        {
            Task arrived;
            List<RecordedRequest> matching;
            lock (_gate)
            {
                matching = [.. _requests.Where(filter)];
                arrived = _requestArrived.Task;
            }

            if (matching.Count >= count)
            {
                return matching;
            }

            try
            {
                await arrived.WaitAsync(timeoutSource.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"Expected {count} matching request(s) within {timeout.TotalSeconds:0.#} s, got {matching.Count}; received: "
                    + string.Join(", ", Requests));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Cancel first so Hang() replies release their requests and the server can stop promptly.
        await _stopping.CancelAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _stopping.Dispose();
        GoogleAuth.Dispose();
    }

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        _server = await LoopbackServer.StartAsync(HandleAsync, _options.MaxRequestBodyBytes, cancellationToken);
        Port = _server.Port;
        BaseUrl = _server.BaseUrl;
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/model"))
        {
            // Bedrock Runtime paths: the scripted Bedrock reads, verifies and records the request itself.
            await Bedrock.HandleAsync(context);
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        var token = linked.Token;
        try
        {
            var request = await RecordAsync(context, token);
            var requestId = "req_" + RandomId(24);
            var headers = context.Response.Headers;
            headers["request-id"] = requestId;
            headers["anthropic-ratelimit-requests-limit"] = "4000";
            headers["anthropic-ratelimit-requests-remaining"] = "3999";
            headers["anthropic-ratelimit-tokens-limit"] = "400000";
            headers["anthropic-ratelimit-tokens-remaining"] = "399000";

            var path = context.Request.Path.Value ?? "";
            var method = context.Request.Method;
            if (path == MessagesPath && HttpMethods.IsPost(method))
            {
                await HandleMessagesAsync(context, request, requestId, token);
            }
            else if (path == ScriptedGoogleAuth.TokenPath && HttpMethods.IsPost(method))
            {
                await GoogleAuth.HandleTokenAsync(context, request.Body, new Uri(BaseUri, ScriptedGoogleAuth.TokenPath));
            }
            else if (VertexPath().Match(path) is { Success: true } vertex && HttpMethods.IsPost(method))
            {
                await HandleVertexAsync(context, request, requestId, vertex, token);
            }
            else if (path == CountTokensPath && HttpMethods.IsPost(method))
            {
                await HandleCountTokensAsync(context, request, requestId, token);
            }
            else if (path == ModelsPath && HttpMethods.IsGet(method))
            {
                await HandleModelsAsync(context, requestId, token);
            }
            else
            {
                await WriteErrorAsync(context, StatusCodes.Status404NotFound, "not_found_error", $"Not found: {method} {path}", requestId, token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The client went away, or the upstream is being disposed: drop the connection instead of
            // leaving a half-written response that looks complete.
            context.Abort();
        }
        catch (IOException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client closed the connection while we were writing.
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            lock (_gate)
            {
                _failures.Add(exception);
            }

            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "api_error", "Scripted upstream failed: " + exception.Message, "req_failed", CancellationToken.None);
            }
            else
            {
                context.Abort();
            }
        }
    }

    private async Task<RecordedRequest> RecordAsync(HttpContext context, CancellationToken token)
    {
        var headerLines = new List<KeyValuePair<string, string>>();
        foreach (var header in context.Request.Headers)
        {
            foreach (var value in header.Value)
            {
                headerLines.Add(new(header.Key, value ?? ""));
            }
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, token);

        RecordedRequest request;
        lock (_gate)
        {
            request = new RecordedRequest(
                _sequence++,
                context.Request.Method,
                context.Request.Path.Value ?? "",
                context.Request.QueryString.Value ?? "",
                headerLines,
                body.ToArray(),
                DateTimeOffset.UtcNow);
            _requests.Add(request);
            var arrived = _requestArrived;
            _requestArrived = NewSignal();
            arrived.TrySetResult();
        }

        return request;
    }

    private async Task HandleMessagesAsync(HttpContext context, RecordedRequest request, string requestId, CancellationToken token)
    {
        var rejection = CheckAuthentication(context) ?? CheckVersion(context) ?? CheckBody(request, requireMaxTokens: true);
        if (rejection is { } error)
        {
            await WriteErrorAsync(context, error.Status, error.Type, error.Message, requestId, token);
            return;
        }

        await ReplyAsync(context, request, requestId, request.Model ?? "claude-opus-5-5", request.IsStreaming, Dialect.Messages, token);
    }

    /// <summary>
    /// Vertex rawPredict / streamRawPredict: checks the bearer token like Vertex (Google-shaped 401), then the body
    /// shape Vertex requires (<c>anthropic_version: vertex-2023-10-16</c>, no <c>model</c>), then answers from the
    /// script. <c>count-tokens:rawPredict</c> keeps <c>model</c> in the body.
    /// </summary>
    private async Task HandleVertexAsync(HttpContext context, RecordedRequest request, string requestId, Match path, CancellationToken token)
    {
        if (!GoogleAuth.IsAuthorized(context.Request))
        {
            await WriteGoogleErrorAsync(context, StatusCodes.Status401Unauthorized,
                "Request had invalid authentication credentials. Expected OAuth 2 access token.", token);
            return;
        }

        var model = path.Groups["model"].Value;
        var countTokens = model == "count-tokens";
        RequestError? shape = null;
        using (var document = request.ParseBody())
        {
            var root = document.RootElement;
            if (!root.TryGetProperty("anthropic_version", out var version) || version.GetString() != "vertex-2023-10-16")
            {
                shape = new(400, "invalid_request_error", "anthropic_version: must be vertex-2023-10-16");
            }
            else if (!countTokens && root.TryGetProperty("model", out _))
            {
                shape = new(400, "invalid_request_error", "model: Extra inputs are not permitted");
            }
            else if (countTokens && !root.TryGetProperty("model", out _))
            {
                shape = new(400, "invalid_request_error", "model: Field required");
            }
            else if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            {
                shape = new(400, "invalid_request_error", "messages: Field required");
            }
        }

        if (shape is { } invalid)
        {
            await WriteErrorAsync(context, invalid.Status, invalid.Type, invalid.Message, requestId, token);
            return;
        }

        if (countTokens)
        {
            var inputTokens = Math.Max(1, (request.Body.Length + 3) / 4);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$"""{"input_tokens":{{inputTokens.ToString(CultureInfo.InvariantCulture)}}}""", token);
            return;
        }

        var streaming = path.Groups["method"].Value == "streamRawPredict";
        if (streaming != request.IsStreaming)
        {
            await WriteErrorAsync(context, 400, "invalid_request_error", "stream: must be true for :streamRawPredict and absent or false for :rawPredict", requestId, token);
            return;
        }

        await ReplyAsync(context, request, requestId, model, streaming, Dialect.Vertex, token);
    }

    private async Task ReplyAsync(HttpContext context, RecordedRequest request, string requestId, string model, bool streaming, Dialect dialect, CancellationToken token)
    {
        var reply = ChooseReply(request);
        if (reply.FirstByteDelay > TimeSpan.Zero)
        {
            await Task.Delay(reply.FirstByteDelay, token);
        }

        var messageId = "msg_" + RandomId(24);
        switch (reply)
        {
            case HangReply:
                await Task.Delay(Timeout.InfiniteTimeSpan, token);
                break;

            case ErrorReply scripted:
                ApplyErrorHeaders(context, scripted.Status);
                ApplyExtraHeaders(context, reply);
                if (dialect == Dialect.Vertex && scripted.Status is 429 or 401 or 403)
                {
                    // Vertex's own quota and IAM errors are Google-shaped; model errors pass through as Anthropic's.
                    await WriteGoogleErrorAsync(context, scripted.Status, scripted.Message, token);
                    break;
                }

                await WriteErrorAsync(context, scripted.Status, scripted.Type, scripted.Message, requestId, token);
                break;

            case TextReply text when streaming:
                await StreamAsync(context, reply, MessagesEvents.ForText(messageId, model, text.Content, text.InputTokens, text.OutputTokens), token);
                break;

            case TextReply text:
                await WriteJsonAsync(context, StatusCodes.Status200OK, reply, MessagesEvents.TextMessage(messageId, model, text.Content, text.InputTokens, text.OutputTokens), token);
                break;

            case ToolUseReply tool:
                var toolUseId = tool.ToolUseId ?? "toolu_" + RandomId(24);
                if (streaming)
                {
                    await StreamAsync(context, reply, MessagesEvents.ForToolUse(messageId, model, toolUseId, tool.ToolName, tool.InputJson, tool.InputTokens, tool.OutputTokens), token);
                }
                else
                {
                    await WriteJsonAsync(context, StatusCodes.Status200OK, reply, MessagesEvents.ToolUseMessage(messageId, model, toolUseId, tool.ToolName, tool.InputJson, tool.InputTokens, tool.OutputTokens), token);
                }

                break;

            case DieMidStreamReply die:
                if (streaming)
                {
                    var events = MessagesEvents.ForText(messageId, model, die.Content, 25, 10);
                    await StreamAsync(context, reply, events.Take(Math.Min(die.AfterEvents, events.Count - 1)).ToList(), token);
                }
                else
                {
                    // Half a JSON body, then the connection drops.
                    var json = MessagesEvents.TextMessage(messageId, model, die.Content, 25, 10);
                    context.Response.ContentType = "application/json";
                    await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(json[..(json.Length / 2)]), token);
                    await context.Response.Body.FlushAsync(token);
                }

                await Task.Delay(die.PauseBeforeAbort, token);
                context.Abort();
                break;

            case StreamErrorReply streamError when streaming:
                var partial = MessagesEvents.ForText(messageId, model, "This answer stops with an error.", 25, 10);
                var withError = partial.Take(Math.Min(streamError.AfterEvents, partial.Count - 1)).ToList();
                withError.Add(MessagesEvents.ErrorEvent(streamError.Type, streamError.Message));
                await StreamAsync(context, reply, withError, token);
                break;

            case StreamErrorReply streamError:
                var status = streamError.Type == "overloaded_error" ? 529 : StatusCodes.Status500InternalServerError;
                ApplyErrorHeaders(context, status);
                ApplyExtraHeaders(context, reply);
                await WriteErrorAsync(context, status, streamError.Type, streamError.Message, requestId, token);
                break;

            default:
                throw new InvalidOperationException($"Unknown reply kind {reply.GetType().Name}.");
        }
    }

    private async Task HandleCountTokensAsync(HttpContext context, RecordedRequest request, string requestId, CancellationToken token)
    {
        var rejection = CheckAuthentication(context) ?? CheckVersion(context) ?? CheckBody(request, requireMaxTokens: false) ?? CheckNotCounted(request);
        if (rejection is { } error)
        {
            await WriteErrorAsync(context, error.Status, error.Type, error.Message, requestId, token);
            return;
        }

        // A stable estimate (about four bytes per token) so tests can predict it: ceil(bodyBytes / 4).
        var inputTokens = Math.Max(1, (request.Body.Length + 3) / 4);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($$"""{"input_tokens":{{inputTokens.ToString(CultureInfo.InvariantCulture)}}}""", token);
    }

    // The count_tokens endpoint takes no sampling fields: "max_tokens: Extra inputs are not permitted" (what the API answers).
    private static RequestError? CheckNotCounted(RecordedRequest request)
    {
        using var document = request.ParseBody();
        return document.RootElement.TryGetProperty("max_tokens", out _)
            ? new(StatusCodes.Status400BadRequest, "invalid_request_error", "max_tokens: Extra inputs are not permitted")
            : null;
    }

    private async Task HandleModelsAsync(HttpContext context, string requestId, CancellationToken token)
    {
        var rejection = CheckAuthentication(context) ?? CheckVersion(context);
        if (rejection is { } error)
        {
            await WriteErrorAsync(context, error.Status, error.Type, error.Message, requestId, token);
            return;
        }

        var models = _options.Models.Select(id => new
        {
            type = "model",
            id,
            display_name = id,
            created_at = "2025-09-29T00:00:00Z",
        }).ToList();
        var body = JsonSerializer.Serialize(new
        {
            data = models,
            has_more = false,
            first_id = models.FirstOrDefault()?.id,
            last_id = models.LastOrDefault()?.id,
        });
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, token);
    }

    private UpstreamReply ChooseReply(RecordedRequest request)
    {
        if (Responder?.Invoke(request) is { } chosen)
        {
            return chosen;
        }

        lock (_gate)
        {
            return _replies.TryDequeue(out var queued) ? queued : DefaultReply;
        }
    }

    private RequestError? CheckAuthentication(HttpContext context)
    {
        var apiKey = context.Request.Headers["x-api-key"];
        if (apiKey.Count == 1 && apiKey[0] == _options.ExpectedApiKey)
        {
            return null;
        }

        if (_options.AcceptBearerToken
            && context.Request.Headers.Authorization is { Count: 1 } authorization
            && authorization[0] == "Bearer " + _options.ExpectedApiKey)
        {
            return null;
        }

        return new(StatusCodes.Status401Unauthorized, "authentication_error", "invalid x-api-key");
    }

    private static RequestError? CheckVersion(HttpContext context)
        => StringValues.IsNullOrEmpty(context.Request.Headers["anthropic-version"])
            ? new(StatusCodes.Status400BadRequest, "invalid_request_error", "anthropic-version: header is required")
            : null;

    // Field names in messages follow the API's own style: "max_tokens: Field required".
    private static RequestError? CheckBody(RecordedRequest request, bool requireMaxTokens)
    {
        JsonElement root;
        try
        {
            using var document = request.ParseBody();
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return Invalid("There was an error parsing the body of your request: it is not valid JSON");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return Invalid("body: Input should be a JSON object");
        }

        if (FieldError(root, "model", JsonValueKind.String, "a valid string") is { } modelError)
        {
            return modelError;
        }

        if (FieldError(root, "messages", JsonValueKind.Array, "a valid list") is { } messagesError)
        {
            return messagesError;
        }

        if (requireMaxTokens && FieldError(root, "max_tokens", JsonValueKind.Number, "a valid integer") is { } maxTokensError)
        {
            return maxTokensError;
        }

        return null;

        static RequestError? FieldError(JsonElement root, string name, JsonValueKind kind, string description)
        {
            if (!root.TryGetProperty(name, out var value))
            {
                return Invalid($"{name}: Field required");
            }

            return value.ValueKind == kind ? null : Invalid($"{name}: Input should be {description}");
        }

        static RequestError Invalid(string message) => new(StatusCodes.Status400BadRequest, "invalid_request_error", message);
    }

    private static void ApplyErrorHeaders(HttpContext context, int status)
    {
        // The API marks retryable failures; clients (the Stainless SDK in Claude Code) honour both headers.
        var retryable = status is 408 or 409 or 429 or >= 500;
        context.Response.Headers["x-should-retry"] = retryable ? "true" : "false";
        if (retryable)
        {
            context.Response.Headers["retry-after"] = "1";
        }
    }

    private static void ApplyExtraHeaders(HttpContext context, UpstreamReply reply)
    {
        foreach (var group in reply.ExtraHeaders.GroupBy(h => h.Key, StringComparer.OrdinalIgnoreCase))
        {
            context.Response.Headers[group.Key] = new StringValues([.. group.Select(h => h.Value)]);
        }
    }

    private static async Task StreamAsync(HttpContext context, UpstreamReply reply, IReadOnlyList<SseEvent> events, CancellationToken token)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        ApplyExtraHeaders(context, reply);
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(token);

        for (var i = 0; i < events.Count; i++)
        {
            if (i > 0 && reply.EventDelay > TimeSpan.Zero)
            {
                await Task.Delay(reply.EventDelay, token);
            }

            // One flush per event: each event must reach the client as its own write.
            await response.Body.WriteAsync(events[i].ToBytes(), token);
            await response.Body.FlushAsync(token);
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, UpstreamReply reply, string json, CancellationToken token)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        ApplyExtraHeaders(context, reply);
        await context.Response.WriteAsync(json, token);
    }

    private static async Task WriteGoogleErrorAsync(HttpContext context, int status, string message, CancellationToken token)
    {
        var code = status switch
        {
            401 => "UNAUTHENTICATED",
            403 => "PERMISSION_DENIED",
            429 => "RESOURCE_EXHAUSTED",
            _ => "INTERNAL",
        };
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=UTF-8";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { error = new { code = status, message, status = code } }), token);
    }

    [GeneratedRegex("^/v1/projects/(?<project>[^/]+)/locations/(?<location>[^/]+)/publishers/anthropic/models/(?<model>[^/:]+):(?<method>rawPredict|streamRawPredict)$")]
    private static partial Regex VertexPath();

    /// <summary>Which provider's protocol a request arrived in: decides checks, streaming frames and error shapes.</summary>
    private enum Dialect
    {
        Messages,
        Vertex,
        Bedrock,
    }

    private static async Task WriteErrorAsync(HttpContext context, int status, string type, string message, string requestId, CancellationToken token)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(MessagesEvents.ErrorBody(type, message, requestId), token);
    }

    private static string RandomId(int length) => RandomNumberGenerator.GetString(IdAlphabet, length);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record RequestError(int Status, string Type, string Message);
}
