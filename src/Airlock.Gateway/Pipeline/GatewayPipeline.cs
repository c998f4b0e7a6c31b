using System.Buffers;
using System.Diagnostics;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Core.Identity;
using Airlock.Core.Routing;
using Airlock.Gateway.Audit;
using Airlock.Gateway.Inspection;
using Airlock.Gateway.Upstreams;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Messages;
using Airlock.Protocols.Sse;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Airlock.Gateway.Pipeline;

/// <summary>
/// The one request pipeline every front door shares: identify → read → validate → route → inspect → forward →
/// relay → record. Doors parse their paths and shape their errors and answers (<see cref="FrontDoor"/>); upstream
/// adapters build upstream requests and translate answers (<see cref="UpstreamAdapter"/>). Identity, inspection
/// and audit are therefore identical whichever door was used. Every exit path, failures and client aborts
/// included, produces exactly one audit record, written in <see cref="RecordAsync"/>.
/// </summary>
internal sealed partial class GatewayPipeline(
    AirlockConfig config,
    KeyAuthenticator authenticator,
    ModelRouter router,
    UpstreamRegistry upstreams,
    AuditWriter audit,
    GatewayInspection inspection,
    GatewayContentCapture capture,
    TimeProvider time,
    RetryBackoff backoff,
    ILogger<GatewayPipeline> logger)
{
    private const int RelayBufferSize = 16 * 1024;
    private const int MaxTeeBytes = 8 * 1024 * 1024;
    private const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary>Error type of a request refused because its audit record could not be written.</summary>
    private const string StoreUnavailable = "audit_store_unavailable";

    /// <summary>The router (doors that answer from the routes, e.g. model lists, read it).</summary>
    public ModelRouter Router => router;

    /// <summary>The upstream adapters.</summary>
    public UpstreamRegistry Upstreams => upstreams;

    /// <summary>A Messages call through <paramref name="door"/>: the whole pipeline.</summary>
    public Task HandleCallAsync(HttpContext context, FrontDoor door, string operation, DoorRequest request) =>
        RunAsync(context, door, operation, exchange => ServeAsync(context, exchange, door, request));

    /// <summary>
    /// The one place every request's exit paths are handled: authenticate, run <paramref name="handle"/>, map a
    /// client that left to <c>client_abort</c> and anything unexpected to a 500, and record exactly one audit
    /// record whatever happened.
    /// </summary>
    public async Task RunAsync(HttpContext context, FrontDoor door, string operation, Func<Exchange, Task> handle)
    {
        var exchange = new Exchange(context, door.Name, operation, time.GetUtcNow());
        context.Response.Headers["x-airlock-request-id"] = exchange.RequestId;
        try
        {
            if (await AuthenticateAsync(context, exchange, door).ConfigureAwait(false))
            {
                if (audit.TakesRecords)
                {
                    await handle(exchange).ConfigureAwait(false);
                }
                else
                {
                    // Nothing is served that cannot be recorded (audit.on_store_failure: refuse, or the spool is full).
                    await RejectAsync(context, exchange, door, Reject(503, AnthropicErrors.Overloaded,
                        "audit store unavailable: Airlock does not serve requests it cannot record; retry later", StoreUnavailable)).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (IsClientGone(context, ex))
        {
            exchange.Status = StatusCodes.Status499ClientClosedRequest;
            exchange.Fail(AuditOutcome.ClientAbort, "client_abort");
        }
        catch (BadHttpRequestException ex)
        {
            // The client's framing was broken (e.g. truncated chunked body).
            await RejectAsync(context, exchange, door, new Refusal(
                new GatewayError(ex.StatusCode, AnthropicErrors.TypeForStatus(ex.StatusCode), "malformed HTTP request body"), "bad_http_request")).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await FailInternallyAsync(context, exchange, door, ex).ConfigureAwait(false);
        }
        finally
        {
            await RecordAsync(context, exchange).ConfigureAwait(false);
        }
    }

    private async Task ServeAsync(HttpContext context, Exchange exchange, FrontDoor door, DoorRequest request)
    {
        exchange.Model = request.PathModel;
        if (request.Refusal is { } pathRefusal)
        {
            await RejectAsync(context, exchange, door, pathRefusal).ConfigureAwait(false);
            return;
        }
        using var body = await RequestBody.ReadAsync(context.Request, config.Limits.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            await RejectAsync(context, exchange, door, Reject(413, AnthropicErrors.RequestTooLarge,
                $"request body exceeds the gateway limit of {config.Limits.MaxBodyBytes} bytes", "body_too_large")).ConfigureAwait(false);
            return;
        }
        exchange.RequestBytes = body.Length;
        // The body's hash is computed once the upstream request is on its way (it then overlaps the upstream's work), or
        // here when handling ends without forwarding: before the body is returned and before any record is built.
        exchange.DeferBodyHash(body.Memory);
        try
        {
            await ServeBodyAsync(context, exchange, door, request, body.Memory).ConfigureAwait(false);
        }
        finally
        {
            exchange.HashBody();
        }
    }

    private async Task ServeBodyAsync(HttpContext context, Exchange exchange, FrontDoor door, DoorRequest request, ReadOnlyMemory<byte> body)
    {
        var received = body;
        if (request.WrapsInvokeBody)
        {
            if (!BedrockCountTokens.TryUnwrapInvokeBody(body.Span, out var invokeBody, out var unwrapError))
            {
                await RejectAsync(context, exchange, door, Reject(400, AnthropicErrors.InvalidRequest, "count-tokens request: " + unwrapError, "invalid_body")).ConfigureAwait(false);
                return;
            }
            received = invokeBody;
        }
        if (!MessagesRequestReader.TryRead(received.Span, config.Limits.MaxJsonDepth, out var info, out var error))
        {
            await RejectAsync(context, exchange, door, Reject(400, AnthropicErrors.InvalidRequest, error!, "invalid_body")).ConfigureAwait(false);
            return;
        }
        var model = request.PathModel ?? info.Model;
        exchange.Model = model;
        if (string.IsNullOrEmpty(model))
        {
            await RejectAsync(context, exchange, door, Reject(400, AnthropicErrors.InvalidRequest, "model: field required", "invalid_body")).ConfigureAwait(false);
            return;
        }
        // Routing is a lookup: a model nobody serves is refused before paying for inspection. Overrides come first
        // (the audit keeps the requested name; the upstream gets the overridden one).
        var routedModel = router.Override(model);
        var candidates = router.ResolveAll(routedModel);
        if (candidates.Count == 0)
        {
            await RejectAsync(context, exchange, door, Reject(404, AnthropicErrors.NotFound,
                $"model '{Truncate(model)}' is not served by this gateway (no route matches it)", "no_route")).ConfigureAwait(false);
            return;
        }
        exchange.Upstream = candidates[0].Name;
        var forwardBody = received;
        if (inspection.Runtime is { } runtime)
        {
            var inspected = await InspectRequestAsync(context, exchange, door, runtime, received, info.Layout).ConfigureAwait(false);
            if (inspected is null)
            {
                return;
            }
            forwardBody = inspected.Value;
        }
        // Content capture (off by default): keeps the request text for the off-path writer.
        exchange.Capture = capture.Begin(exchange.Key?.Team, exchange.Key?.Id);
        exchange.Capture?.OnRequest(received.Span, forwardBody.Span);
        var call = new MessagesCall
        {
            Operation = request.Operation,
            Model = model,
            Stream = request.PathStream ?? info.Stream,
            Shape = request.Shape,
            Body = forwardBody,
            MessagesPathAndQuery = request.MessagesPathAndQuery,
        };
        if (forwardBody.Equals(received))
        {
            // Nothing was redacted: the members are where the validation pass found them.
            call.WithLayout(info.Layout);
        }
        await ForwardAsync(context, exchange, door, call, candidates).ConfigureAwait(false);
    }

    /// <summary>
    /// Scans the request. Returns the body to forward (the original bytes, or the same bytes with
    /// placeholders spliced into the strings that held redacted values), or null when the request was
    /// refused (blocked by policy, or inspection failed under the fail-closed policy).
    /// </summary>
    private async Task<ReadOnlyMemory<byte>?> InspectRequestAsync(HttpContext context, Exchange exchange, FrontDoor door, InspectionRuntime runtime, ReadOnlyMemory<byte> body,
        Airlock.Protocols.Json.JsonObjectLayout? layout)
    {
        Airlock.Inspection.Messages.RequestInspection result;
        try
        {
            // The validation pass's layout: the inspection reads only the members it inspects, not tools again.
            result = runtime.RequestInspector.Inspect(body, exchange.Key?.Team, runtime.Policy, InspectionLayout.From(layout, config.Limits.MaxJsonDepth));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogInspectionFailed(logger, exchange.RequestId, ex.GetType().FullName ?? "exception");
            if (runtime.Config.FailClosed)
            {
                await RejectAsync(context, exchange, door, Reject(500, AnthropicErrors.Api,
                    $"request refused: inspection failed and the gateway fails closed (request id {exchange.RequestId})", "inspection_error")).ConfigureAwait(false);
                return null;
            }
            exchange.ErrorType = "inspection_error_passed";
            return body;
        }
        foreach (var finding in result.Findings)
        {
            exchange.Findings.Add(InspectionRuntime.ToAudit(finding));
        }
        // An inspection that could not finish (limits, undecodable string) is an inspection failure, not a
        // policy block: inspection.on_error decides, as for an exception.
        if (result.Incomplete)
        {
            if (runtime.Config.FailClosed)
            {
                await RejectAsync(context, exchange, door, Reject(400, AnthropicErrors.InvalidRequest,
                    result.BlockReason ?? "request refused: it could not be inspected completely", "inspection_incomplete")).ConfigureAwait(false);
                return null;
            }
            exchange.ErrorType = "inspection_incomplete_passed";
            return body;
        }
        if (result.Blocked)
        {
            var rule = result.BlockingFinding?.RuleId ?? "unknown";
            await RejectAsync(context, exchange, door, new Refusal(new GatewayError(400, AnthropicErrors.InvalidRequest,
                result.BlockReason ?? $"request blocked by Airlock policy: rule {rule}"), "blocked:" + rule, AuditOutcome.Blocked)).ConfigureAwait(false);
            return null;
        }
        return result.Body;
    }

    private async Task<bool> AuthenticateAsync(HttpContext context, Exchange exchange, FrontDoor door)
    {
        var result = await authenticator.AuthenticateAsync(PresentedKey(context.Request), context.RequestAborted).ConfigureAwait(false);
        exchange.Key = result.Key;
        if (result.Succeeded && result.Key!.Role == KeyRole.Auditor)
        {
            result = result with { Failure = AuthFailure.Forbidden };
        }
        if (!result.Succeeded)
        {
            var status = result.Failure == AuthFailure.Forbidden ? 403 : 401;
            await RejectAsync(context, exchange, door, Reject(status, AnthropicErrors.TypeForStatus(status), result.Message,
                "auth_" + result.Failure.ToString().ToLowerInvariant())).ConfigureAwait(false);
            return false;
        }
        return true;
    }

    /// <summary>
    /// Claude Code sends the key as <c>x-api-key</c> (ANTHROPIC_API_KEY), as <c>Authorization: Bearer</c>
    /// (ANTHROPIC_AUTH_TOKEN, also in Bedrock and Vertex modes with skip-auth) or as both (apiKeyHelper). The Claude
    /// Code endpoints and the admin API read keys the same way.
    /// </summary>
    internal static string? PresentedKey(HttpRequest request)
    {
        var apiKey = request.Headers["x-api-key"];
        if (apiKey.Count > 0 && !string.IsNullOrEmpty(apiKey[0]))
        {
            return apiKey[0]!.Trim();
        }
        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0 && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return value[7..].Trim();
        }
        return null;
    }

    /// <summary>
    /// Sends the call to the route's upstreams in order until one answers. Retries and failover happen only here,
    /// before any byte reached the client: a connect failure, a timeout, a 429 or a 5xx is retried on the same
    /// upstream (<c>retries</c>, exponential backoff with full jitter, no sooner than the answer's Retry-After), then the
    /// next upstream of the route is tried. A missing credential, or a Retry-After beyond the backoff cap, moves on at once. The last answer (or failure) is what the client gets.
    /// </summary>
    private async Task ForwardAsync(HttpContext context, Exchange exchange, FrontDoor door, MessagesCall call, IReadOnlyList<UpstreamConfig> candidates)
    {
        Refusal? failure = null;
        for (var i = 0; i < candidates.Count; i++)
        {
            var adapter = upstreams.Adapter(candidates[i].Name);
            var upstream = adapter.Config;
            exchange.Upstream = upstream.Name;
            var model = upstream.MapModel(router.Override(call.Model));
            // What the upstream's last answer asked for (Retry-After): the next attempt on it waits at least that long.
            TimeSpan? retryAfter = null;
            var credentialRenewed = false;
            for (var attempt = 0; attempt <= upstream.Retries; attempt++)
            {
                if (attempt > 0)
                {
                    await BackoffAsync(upstream, attempt, retryAfter, context.RequestAborted).ConfigureAwait(false);
                }
                if (!adapter.Client.Breaker.TryAcquire())
                {
                    // An open circuit is skipped at once instead of paying its timeouts again.
                    failure ??= CircuitOpen(adapter.Client.Breaker);
                    LogAttemptFailed(logger, exchange.RequestId, upstream.Name, attempt + 1, "circuit_open");
                    break;
                }
                var last = i == candidates.Count - 1 && attempt == upstream.Retries;
                var (response, attemptFailure) = await SendAsync(context, exchange, adapter, call, model).ConfigureAwait(false);
                adapter.Client.Breaker.Record(CircuitBreakers.Classify(response is null ? null : (int)response.StatusCode, attemptFailure?.ErrorType), attemptFailure?.ErrorType);
                if (response is null)
                {
                    failure = attemptFailure;
                    LogAttemptFailed(logger, exchange.RequestId, upstream.Name, attempt + 1, attemptFailure!.Value.ErrorType);
                    // Refusals that another attempt on the same upstream would only repeat (a beta this upstream refuses
                    // included): move on to the next upstream of the route at once.
                    if (attemptFailure.Value.ErrorType is "upstream_credentials" or "invalid_model" or "unsupported_operation" or "untranslatable_request" or "egress_refused" or "region_refused"
                        || attemptFailure.Value.ErrorType.StartsWith("beta_", StringComparison.Ordinal))
                    {
                        break;
                    }
                    continue;
                }
                if ((int)response.StatusCode == 401 && !credentialRenewed && adapter.RenewCredential())
                {
                    // The upstream refused the gateway's own token (not the client's): once per upstream, send again with
                    // a new one. Nothing reached the client yet, and this does not use up a retry.
                    credentialRenewed = true;
                    LogAttemptFailed(logger, exchange.RequestId, upstream.Name, attempt + 1, "upstream_status_401");
                    response.Dispose();
                    attempt--;
                    continue;
                }
                retryAfter = IsRetryable((int)response.StatusCode) ? RetryBackoff.RetryAfter(response, time.GetUtcNow()) : null;
                var longWait = retryAfter > RetryBackoff.MaxDelay;
                // A Retry-After longer than any backoff: this upstream is not retried; the next one is tried at once, and
                // the route's last upstream's answer (with its Retry-After) goes to the client, who knows when to come back.
                if (!last && IsRetryable((int)response.StatusCode) && !(longWait && i == candidates.Count - 1))
                {
                    LogAttemptFailed(logger, exchange.RequestId, upstream.Name, attempt + 1, "upstream_status_" + (int)response.StatusCode);
                    failure = new Refusal(new GatewayError((int)response.StatusCode, AnthropicErrors.TypeForStatus((int)response.StatusCode),
                        $"upstream '{upstream.Name}' answered {(int)response.StatusCode}"), "upstream_status_" + (int)response.StatusCode, AuditOutcome.UpstreamError);
                    response.Dispose();
                    if (longWait)
                    {
                        break;
                    }
                    continue;
                }
                using (response)
                {
                    await HandleResponseAsync(context, exchange, door, adapter, response).ConfigureAwait(false);
                }
                return;
            }
        }
        await RejectAsync(context, exchange, door, failure!.Value).ConfigureAwait(false);
    }

    /// <summary>
    /// Hashes the body and, with the audit journal (<c>audit.durable: journal</c>, or <c>true</c> with SQLite), hands the
    /// record as it stands (outcome <c>interrupted</c>) to it: if the gateway dies from here on, that is what the trail
    /// keeps. Without fsync the entry is written here, while the upstream works (one <c>pwrite</c>). Once per request
    /// (retries and failover keep the first entry; the final record says where the request went).
    /// </summary>
    private void BeginJournal(Exchange exchange)
    {
        exchange.HashBody();
        if (exchange.Journal is null && config.Audit.Durability == AuditDurability.Journal && audit.Journal is { } journal)
        {
            exchange.Journal = journal.Begin(exchange.ToRecord() with { Outcome = AuditOutcome.Interrupted, ErrorType = AuditJournal.GatewayStopped, Status = 0 });
        }
    }

    /// <summary>Waits for an abandoned send to end and drops its outcome (the caller is already failing with its own).</summary>
    private static async Task DrainAsync(Task<HttpResponseMessage> sending)
    {
        try
        {
            (await sending.ConfigureAwait(false)).Dispose();
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            // The send's failure is moot: the exception that abandoned it is the one that propagates.
        }
    }

    private static Refusal CircuitOpen(CircuitBreaker breaker) => new(new GatewayError(503, AnthropicErrors.Overloaded,
        $"upstream '{breaker.Upstream}' is out of rotation after repeated failures (circuit open until {breaker.RetryAt:HH:mm:ss} UTC)"),
        "circuit_open", AuditOutcome.UpstreamError);

    /// <summary>Throttling and server-side failures are worth another attempt; client errors are not.</summary>
    private static bool IsRetryable(int status) => status is 408 or 429 or 500 or 502 or 503 or 504 or 529;

    /// <summary>Waits before retry number <paramref name="attempt"/> on the same upstream (<see cref="RetryBackoff"/>, on the gateway's clock).</summary>
    private Task BackoffAsync(UpstreamConfig upstream, int attempt, TimeSpan? retryAfter, CancellationToken cancellationToken) =>
        Task.Delay(backoff.Delay(upstream.RetryBackoff, attempt, retryAfter), time, cancellationToken);

    /// <summary>One attempt: builds the upstream request and waits for the response headers (bounded by the first-byte timeout).</summary>
    private async Task<(HttpResponseMessage? Response, Refusal? Failure)> SendAsync(HttpContext context, Exchange exchange, UpstreamAdapter adapter, MessagesCall call, string model)
    {
        var upstream = adapter.Config;
        using var firstByte = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        firstByte.CancelAfter(upstream.FirstByteTimeout);
        HttpRequestMessage request;
        try
        {
            request = await adapter.CreateRequestAsync(context, call, model, firstByte.Token).ConfigureAwait(false);
        }
        catch (UpstreamCredentialException ex)
        {
            return (null, new Refusal(new GatewayError(502, AnthropicErrors.Api,
                $"upstream '{upstream.Name}' credentials are unavailable: {ex.Message}"), "upstream_credentials", AuditOutcome.UpstreamError));
        }
        catch (EgressRefusedException refused)
        {
            // The credential's token endpoint is a destination the level forbids (Vertex OAuth through the guard).
            return (null, new Refusal(new GatewayError(403, AnthropicErrors.Permission,
                $"upstream '{upstream.Name}' refused by the data-egress policy: {refused.Reason}"), "egress_refused"));
        }
        catch (UpstreamRequestException ex)
        {
            return (null, ex.Refusal);
        }
        using (request)
        {
            try
            {
                var sending = adapter.Client.Invoker.SendAsync(request, firstByte.Token);
                try
                {
                    // While the upstream works: the body's hash, then the journal's begin entry.
                    BeginJournal(exchange);
                }
                catch
                {
                    // The send still reads the request's pooled body: it must end before the body goes back to the pool.
                    await DrainAsync(sending).ConfigureAwait(false);
                    throw;
                }
                var response = await sending.ConfigureAwait(false);
                // Still before the first byte: a stream that opens with a throttling frame is an attempt failure too.
                if (await adapter.ProbeAnswerStartAsync(response, firstByte.Token).ConfigureAwait(false) is { } refused)
                {
                    return (null, refused);
                }
                return (response, null);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException ex)
            {
                var connect = ex.InnerException is TimeoutException;
                return (null, new Refusal(new GatewayError(504, AnthropicErrors.Api,
                    connect
                        ? $"upstream '{upstream.Name}' could not be reached within {upstream.ConnectTimeout.TotalSeconds:0.#}s"
                        : $"upstream '{upstream.Name}' did not answer within {upstream.FirstByteTimeout.TotalSeconds:0.#}s"),
                    connect ? "upstream_connect_timeout" : "upstream_timeout", AuditOutcome.UpstreamError));
            }
            catch (HttpRequestException ex) when (ex.InnerException is EgressRefusedException refused)
            {
                // The level forbids this destination: a policy refusal, never retried on this upstream.
                return (null, new Refusal(new GatewayError(403, AnthropicErrors.Permission,
                    $"upstream '{upstream.Name}' refused by the data-egress policy: {refused.Reason}"), "egress_refused"));
            }
            catch (HttpRequestException ex)
            {
                var reason = UpstreamErrorName(ex.HttpRequestError);
                return (null, new Refusal(new GatewayError(502, AnthropicErrors.Api, $"upstream '{upstream.Name}' is unreachable ({reason})"),
                    "upstream_" + reason, AuditOutcome.UpstreamError));
            }
        }
    }

    private async Task HandleResponseAsync(HttpContext context, Exchange exchange, FrontDoor door, UpstreamAdapter adapter, HttpResponseMessage response)
    {
        exchange.MarkFirstByte();
        var status = (int)response.StatusCode;
        exchange.Status = status;
        if (response.Headers.TryGetValues(adapter.RequestIdHeader, out var ids))
        {
            exchange.UpstreamRequestId = ids.FirstOrDefault();
        }
        if (status is >= 300 and < 400)
        {
            // No provider API redirects. Relaying one would send the client, with its unredacted body, to an
            // address the egress policy never vetted; following it could leave the allowed network.
            await RejectAsync(context, exchange, door, new Refusal(new GatewayError(502, AnthropicErrors.Api,
                $"upstream '{adapter.Config.Name}' answered with a redirect ({status}); Airlock does not follow or relay redirects"),
                "upstream_redirect", AuditOutcome.UpstreamError)).ConfigureAwait(false);
            return;
        }
        var verbatim = door.RelaysMessagesVerbatim && adapter.SpeaksMessages;
        if (status >= 400)
        {
            exchange.Fail(AuditOutcome.UpstreamError, "upstream_status_" + status);
            if (!verbatim)
            {
                // Another protocol's error body means nothing to this client: say the same thing in the door's shape.
                var bytes = await ReadBoundedAsync(response, MaxErrorBodyBytes, context.RequestAborted).ConfigureAwait(false);
                var error = adapter.ReadError(response, bytes);
                context.Response.StatusCode = status;
                HeaderPolicy.CopyResponseHeaders(response, context.Response, keepContentLength: false, keepContentType: false);
                exchange.ResponseBytes += await HoldErrorAsync(context, exchange, door, error).ConfigureAwait(false);
                return;
            }
        }
        // The adapter's translator makes the answer Messages-shaped; a door whose answer to this operation has another
        // shape (Bedrock CountTokens) translates it once more.
        var translator = status < 400 ? ChainedTranslator.Of(adapter.CreateTranslator(response), door.CreateAnswerTranslator(exchange.Operation)) : null;
        using (translator)
        {
            var isSse = translator?.ProducesSse ?? response.Content.Headers.ContentType?.MediaType is "text/event-stream";
            var encoder = isSse && status < 400 ? door.CreateStreamEncoder() : null;
            var rewritten = translator is not null || encoder is not null;
            context.Response.StatusCode = status;
            HeaderPolicy.CopyResponseHeaders(response, context.Response, keepContentLength: !isSse && !rewritten, keepContentType: !rewritten);
            if (rewritten)
            {
                context.Response.ContentType = isSse ? door.StreamContentType : "application/json";
                if (isSse)
                {
                    door.PrepareStream(context.Response);
                }
            }
            await RelayAsync(context, exchange, door, adapter, response, isSse, translator, encoder).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Copies the upstream body to the client as it arrives: every read is written and flushed at once, so each
    /// SSE event (pings included) reaches the client when the upstream sends it. Without a translator or an
    /// encoder the bytes are never changed; otherwise the upstream's frames become Messages SSE (translator) and
    /// Messages SSE becomes the door's frames (encoder). The Messages SSE in the middle is what is observed
    /// (usage, completion, output inspection), whichever door and upstream.
    /// </summary>
    private async Task RelayAsync(HttpContext context, Exchange exchange, FrontDoor door, UpstreamAdapter adapter, HttpResponseMessage response,
        bool isSse, ResponseTranslator? translator, AnswerEncoder? encoder)
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var upstream = adapter.Config;
        var usage = new MessagesUsageTracker();
        exchange.Usage = usage;
        using var parser = isSse ? new SseEventParser() : null;
        var output = isSse && exchange.Status < 400 && inspection.Runtime is { } runtime
            ? runtime.CreateOutputInspector(exchange.Key?.Team)
            : null;
        var observer = new RelayObserver(usage, output, parser) { Capture = exchange.Capture };
        var encodingSink = encoder is null ? null : new EncodingSink(observer, encoder);
        ISseEventSink sink = encodingSink is null ? observer : encodingSink;
        var tee = !isSse && exchange.Status < 400 ? new ArrayBufferWriter<byte>(4096) : null;
        var translated = translator is null ? null : new ArrayBufferWriter<byte>(RelayBufferSize * 2);
        var clientBody = context.Response.BodyWriter;
        var buffer = ArrayPool<byte>.Shared.Rent(RelayBufferSize);
        string? failure = null;
        string? failureMessage = null;
        // Whether the headers (and bytes) left the gateway yet: StartAsync only buffers them until the first flush.
        var flushed = false;
        try
        {
            await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
            var upstreamBody = await response.Content.ReadAsStreamAsync(context.RequestAborted).ConfigureAwait(false);
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            var ended = false;
            while (!ended)
            {
                idle.CancelAfter(upstream.IdleTimeout);
                int read;
                try
                {
                    read = await upstreamBody.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
                {
                    throw;
                }
                catch (OperationCanceledException)
                {
                    failure = "upstream_idle_timeout";
                    break;
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException)
                {
                    // A connection lost after message_stop lost nothing: the answer is whole, and an error event
                    // appended to it would make the client discard it.
                    failure = isSse && usage.Completed ? null : "upstream_stream_broken";
                    break;
                }
                ReadOnlyMemory<byte> chunk = buffer.AsMemory(0, read);
                if (translated is not null)
                {
                    translated.ResetWrittenCount();
                    var ok = read == 0 ? translator!.Complete(translated) : translator!.Translate(chunk.Span, translated);
                    if (!ok && translator.Failure is { } broken)
                    {
                        failure = broken.ErrorType;
                        failureMessage = broken.Error.Message;
                        ended = true;
                    }
                    chunk = translated.WrittenMemory;
                }
                else if (read == 0)
                {
                    break;
                }
                ended |= read == 0;
                if (chunk.IsEmpty)
                {
                    continue;
                }
                parser?.Feed(chunk.Span, sink);
                if (observer.Blocking is not null)
                {
                    // Output policy says block: this chunk is not delivered and the stream ends with an error event.
                    failure = "output_blocked";
                    if (encoder is not null && !encoder.Pending.IsEmpty)
                    {
                        // Events before the blocking one were encoded: they may go.
                        await clientBody.WriteAsync(encoder.Pending, context.RequestAborted).ConfigureAwait(false);
                    }
                    break;
                }
                if (tee is not null && tee.WrittenCount + chunk.Length <= MaxTeeBytes)
                {
                    tee.Write(chunk.Span);
                }
                var toClient = encoder is null ? chunk : encoder.Pending;
                exchange.ResponseBytes += toClient.Length;
                if (!isSse || usage.Completed || !exchange.Held.IsEmpty)
                {
                    // What completes the answer waits for its audit record (RecordAsync releases it): a stream from the
                    // chunk carrying message_stop on, a JSON body one read behind (its last segment is held when it ends).
                    if (!isSse && !exchange.Held.IsEmpty)
                    {
                        await clientBody.WriteAsync(exchange.Held, context.RequestAborted).ConfigureAwait(false);
                        exchange.ClearHeld();
                        flushed = true;
                    }
                    var hold = toClient;
                    if (isSse && exchange.Held.IsEmpty
                        && (encodingSink is null ? observer.CompletingEventStart : encodingSink.CompletingFrameStart) is > 0 and var split
                        && split < toClient.Length)
                    {
                        // The chunk that completed the stream also carries earlier events (an upstream that sends its
                        // whole answer at once): those go now, only the completing event waits for the record.
                        await clientBody.WriteAsync(toClient[..split], context.RequestAborted).ConfigureAwait(false);
                        hold = toClient[split..];
                        flushed = true;
                    }
                    if (!flushed)
                    {
                        // Nothing was sent yet: the status and headers need not wait for the audit record.
                        await clientBody.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                        flushed = true;
                    }
                    exchange.Hold(hold.Span);
                    encoder?.Clear();
                    continue;
                }
                var flush = await clientBody.WriteAsync(toClient, context.RequestAborted).ConfigureAwait(false);
                flushed = true;
                encoder?.Clear();
                if (flush.IsCanceled || flush.IsCompleted)
                {
                    throw new OperationCanceledException("client went away", context.RequestAborted);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (tee is not null && failure is null && tee.WrittenCount > 0)
        {
            usage.ReadMessage(tee.WrittenSpan);
            exchange.Capture?.OnMessage(tee.WrittenSpan);
        }
        if (output is not null)
        {
            if (failure is null)
            {
                output.Complete();
            }
            foreach (var finding in output.Findings)
            {
                exchange.Findings.Add(InspectionRuntime.ToAudit(finding, "response:"));
            }
        }
        if (observer.Blocking is { } blocking)
        {
            exchange.Fail(AuditOutcome.Blocked, "output_blocked:" + blocking.RuleId);
            exchange.Hold(door.StreamError(new GatewayError(400, AnthropicErrors.Api,
                $"answer stopped by Airlock output policy: rule {blocking.RuleId} at {blocking.Location}")).Span);
            return;
        }
        if (failure is null && isSse && exchange.Status < 400 && !usage.Completed)
        {
            failure = usage.StreamErrorType is { } streamError ? "upstream_stream_error:" + streamError : "upstream_stream_incomplete";
        }
        if (failure is null)
        {
            return;
        }
        exchange.Fail(AuditOutcome.UpstreamError, failure);
        LogRelayFailed(logger, exchange.RequestId, upstream.Name, failure);
        if (isSse)
        {
            if (usage.StreamErrorType is null)
            {
                // Tell the client in its own protocol that the answer is incomplete, instead of a silent EOF.
                var message = failureMessage ?? failure switch
                {
                    "upstream_idle_timeout" => $"upstream '{upstream.Name}' stopped sending for {upstream.IdleTimeout.TotalSeconds:0.#}s; the answer is incomplete",
                    "upstream_stream_incomplete" => $"upstream '{upstream.Name}' ended the stream before message_stop; the answer is incomplete",
                    _ => $"upstream '{upstream.Name}' connection was lost mid-stream; the answer is incomplete",
                };
                exchange.Hold(door.StreamError(new GatewayError(502, AnthropicErrors.Api, message)).Span);
            }
        }
        else
        {
            // A truncated JSON body must not look complete: reset the connection (its held tail is never sent).
            exchange.ClearHeld();
            context.Abort();
        }
    }

    /// <summary>Relays a GET (e.g. <c>/v1/models</c>) to an upstream that speaks Messages, path and headers unchanged.</summary>
    public async Task RelayGetAsync(HttpContext context, Exchange exchange, FrontDoor door, UpstreamAdapter adapter)
    {
        exchange.Upstream = adapter.Config.Name;
        using var request = new HttpRequestMessage(HttpMethod.Get, adapter.Client.BuildUri(context.Request.Path.Value!, context.Request.QueryString.Value));
        HeaderPolicy.CopyRequestHeaders(context.Request.Headers, request);
        adapter.Client.ApplyCredential(request);
        HttpResponseMessage response;
        using (var firstByte = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted))
        {
            firstByte.CancelAfter(adapter.Config.FirstByteTimeout);
            try
            {
                response = await adapter.Client.Invoker.SendAsync(request, firstByte.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException)
            {
                var reason = ex is HttpRequestException http ? UpstreamErrorName(http.HttpRequestError) : "timeout";
                await RejectAsync(context, exchange, door, new Refusal(new GatewayError(502, AnthropicErrors.Api,
                    $"upstream '{adapter.Config.Name}' is unreachable ({reason})"), "upstream_" + reason, AuditOutcome.UpstreamError)).ConfigureAwait(false);
                return;
            }
        }
        using (response)
        {
            await HandleResponseAsync(context, exchange, door, adapter, response).ConfigureAwait(false);
        }
    }

    /// <summary>Refuses the request in the door's shape (unless the answer already started) and notes the refusal for the audit record.</summary>
    public static async Task RejectAsync(HttpContext context, Exchange exchange, FrontDoor door, Refusal refusal)
    {
        var error = refusal.Error;
        exchange.Status = error.Status;
        exchange.Fail(refusal.Outcome, refusal.ErrorType);
        if (context.Response.HasStarted)
        {
            return;
        }
        context.Response.StatusCode = error.Status;
        if (error.Status == 401)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"airlock\"";
        }
        exchange.ResponseBytes += await HoldErrorAsync(context, exchange, door, error).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the door's error body into <see cref="Exchange.Held"/> instead of the connection (status and headers are
    /// set as usual, with a Content-Length): like an answer's last bytes, a gateway error is released only once the
    /// audit record saying why is durable. Returns the body's length.
    /// </summary>
    private static async ValueTask<int> HoldErrorAsync(HttpContext context, Exchange exchange, FrontDoor door, GatewayError error)
    {
        var connection = context.Response.Body;
        using var buffer = new MemoryStream(256);
        context.Response.Body = buffer;
        try
        {
            await door.WriteErrorAsync(context, error).ConfigureAwait(false);
        }
        finally
        {
            context.Response.Body = connection;
        }
        context.Response.ContentLength = buffer.Length;
        exchange.Hold(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        return (int)buffer.Length;
    }

    /// <summary>A refusal with the default outcome (<c>rejected</c>).</summary>
    public static Refusal Reject(int status, string type, string message, string errorType) =>
        new(new GatewayError(status, type, message), errorType);

    /// <summary>
    /// The client left: RequestAborted fired, or the response pipe reported the connection closed before
    /// RequestAborted did (the relay then throws with the RequestAborted token). Both are a client abort,
    /// not an internal error.
    /// </summary>
    private static bool IsClientGone(HttpContext context, Exception ex) =>
        ex is OperationCanceledException or IOException
        && (context.RequestAborted.IsCancellationRequested
            || (ex is OperationCanceledException { CancellationToken: var token } && token == context.RequestAborted));

    private async Task FailInternallyAsync(HttpContext context, Exchange exchange, FrontDoor door, Exception ex)
    {
        // The exception type is logged, never the message: it might quote request content.
        LogInternalError(logger, exchange.RequestId, ex.GetType().FullName ?? "exception", new StackTrace(ex).ToString());
        exchange.Fail(AuditOutcome.Rejected, "internal_error");
        if (context.Response.HasStarted)
        {
            exchange.ClearHeld();
            context.Abort();
            return;
        }
        try
        {
            await RejectAsync(context, exchange, door, Reject(500, AnthropicErrors.Api,
                $"internal gateway error (request id {exchange.RequestId})", "internal_error")).ConfigureAwait(false);
        }
        catch (Exception writeError) when (writeError is IOException or OperationCanceledException)
        {
            context.Abort();
        }
    }

    /// <summary>
    /// The one place an exchange becomes an audit record, and where the response is completed: the bytes held back
    /// (<see cref="Exchange.Held"/>) are written only once the record is durable, so a client never holds a complete
    /// answer whose record a crash could lose. A request that was forwarded with the audit journal on (the default with
    /// SQLite) needs its final record written to the journal, and with <c>audit.journal.fsync</c> its begin entry synced
    /// (<see cref="RecordJournaledAsync"/>); any other (<c>audit.durable: commit</c>, <c>true</c> with PostgreSQL, refusals
    /// before forwarding, a failed journal) needs the record committed to the store or fsync'd to the spool. Concurrent requests share one
    /// commit (group commit in <see cref="AuditWriter"/>). Not awaited for durability: a client that left (it gets
    /// nothing more), a refusal because the store is down (its record waits in the queue), and <c>audit.durable:
    /// false</c> (measuring what durability costs).
    /// </summary>
    private async Task RecordAsync(HttpContext context, Exchange exchange)
    {
        var record = exchange.ToRecord();
        capture.Submit(record, exchange.Capture);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var outcome = Core.Audit.AuditOutcomes.ToText(record.Outcome);
            LogRequest(logger, record.RequestId, record.Door, record.Operation, record.KeyId ?? "-", record.Model ?? "-", record.Upstream ?? "-",
                record.Status, outcome, record.LatencyMs);
        }
        if (exchange.Journal is { } ticket)
        {
            if (await RecordJournaledAsync(context, ticket, record).ConfigureAwait(false))
            {
                await ReleaseHeldAsync(context, exchange, record).ConfigureAwait(false);
            }
            return;
        }
        if (config.Audit.Durability == AuditDurability.Off || record.Outcome == AuditOutcome.ClientAbort || record.ErrorType == StoreUnavailable)
        {
            await audit.EnqueueAsync(record).ConfigureAwait(false);
        }
        else
        {
            try
            {
                await audit.WriteDurableAsync(record, context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client left while the record was being committed: it stays queued and is still written.
                return;
            }
        }
        await ReleaseHeldAsync(context, exchange, record).ConfigureAwait(false);
    }

    /// <summary>
    /// A journaled request ends: waits until its begin entry is written (already done without fsync; with fsync normally
    /// long done: it was synced while the upstream worked), appends the final record to the journal (a plain write: a process crash no longer loses it) and
    /// queues it to the store's group commit, which settles the journal entries. Returns whether the held bytes may go.
    /// Should the journal fail, the record is committed to the store before they go, as with <c>audit.durable: commit</c>.
    /// </summary>
    private async Task<bool> RecordJournaledAsync(HttpContext context, JournalTicket ticket, AuditRecord record)
    {
        var journal = audit.Journal!;
        if (record.Outcome == AuditOutcome.ClientAbort)
        {
            // Nothing more goes to the client: no wait. The final entry still spares a crash's recovery the begin-only record.
            journal.TryWriteFinal(ticket, record);
            await audit.EnqueueAsync(record, ticket).ConfigureAwait(false);
            return false;
        }
        bool journaled;
        try
        {
            await ticket.Durable.WaitAsync(context.RequestAborted).ConfigureAwait(false);
            journaled = journal.TryWriteFinal(ticket, record);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left while the begin entry was being synced: it gets nothing more; the record is still written.
            journal.TryWriteFinal(ticket, record);
            await audit.EnqueueAsync(record, ticket).ConfigureAwait(false);
            return false;
        }
        catch (IOException)
        {
            journaled = false; // the journal failed (logged there)
        }
        if (journaled)
        {
            await audit.EnqueueAsync(record, ticket).ConfigureAwait(false);
            return true;
        }
        try
        {
            await audit.WriteDurableAsync(record, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return false;
        }
        finally
        {
            // Whatever the begin entry's fate, the record is the store's now (committed, or queued and still written).
            ticket.Settle();
        }
        return true;
    }

    /// <summary>Writes the bytes that complete the response (held until the record was durable).</summary>
    private static async Task ReleaseHeldAsync(HttpContext context, Exchange exchange, AuditRecord record)
    {
        var held = exchange.Held;
        if (held.IsEmpty || record.Outcome == AuditOutcome.ClientAbort)
        {
            return;
        }
        try
        {
            await context.Response.BodyWriter.WriteAsync(held, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client left after the record was written: the record stands, the client did not get the end.
        }
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, int limit, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[limit];
        var length = 0;
        try
        {
            int read;
            while (length < limit && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            // A broken error body still has a status to report.
        }
        return buffer.AsSpan(0, length).ToArray();
    }

    private static string UpstreamErrorName(HttpRequestError error) => error switch
    {
        HttpRequestError.NameResolutionError => "name_resolution_error",
        HttpRequestError.ConnectionError => "connection_error",
        HttpRequestError.SecureConnectionError => "tls_error",
        HttpRequestError.ProxyTunnelError => "proxy_error",
        HttpRequestError.InvalidResponse => "invalid_response",
        HttpRequestError.ResponseEnded => "response_ended",
        HttpRequestError.ConfigurationLimitExceeded => "response_headers_too_large",
        HttpRequestError.HttpProtocolError => "protocol_error",
        _ => "connection_error",
    };

    private static string Truncate(string value) => value.Length <= 128 ? value : value[..128] + "…";

    /// <summary>Feeds each event to the observer first, then, unless the observer blocked the answer, to the door's encoder.</summary>
    private sealed class EncodingSink(RelayObserver observer, AnswerEncoder encoder) : ISseEventSink
    {
        /// <summary>Where, in the encoder's pending bytes, the frame of the event that completed the answer begins.</summary>
        public int? CompletingFrameStart { get; private set; }

        public void OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
        {
            var pending = encoder.Pending.Length;
            var completed = observer.CompletingEventStart is not null;
            observer.OnEvent(eventType, data);
            if (!completed && observer.CompletingEventStart is not null)
            {
                CompletingFrameStart = pending;
            }
            if (observer.Blocking is null)
            {
                encoder.OnEvent(eventType, data);
            }
        }
    }

    // Debug, not Information: the audit trail is the access log; a console line per request costs throughput.
    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug,
        Message = "{RequestId} {Door} {Operation} key={KeyId} model={Model} upstream={Upstream} status={Status} outcome={Outcome} {LatencyMs:0.0}ms")]
    private static partial void LogRequest(ILogger logger, string requestId, string door, string operation, string keyId, string model, string upstream,
        int status, string outcome, double latencyMs);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "{RequestId} relay from upstream {Upstream} failed: {Failure}")]
    private static partial void LogRelayFailed(ILogger logger, string requestId, string upstream, string failure);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "{RequestId} attempt {Attempt} on upstream {Upstream} failed before the first byte: {Failure}")]
    private static partial void LogAttemptFailed(ILogger logger, string requestId, string upstream, int attempt, string failure);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "{RequestId} inspection failed: {ExceptionType}")]
    private static partial void LogInspectionFailed(ILogger logger, string requestId, string exceptionType);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "{RequestId} internal error {ExceptionType} at {StackTrace}")]
    private static partial void LogInternalError(ILogger logger, string requestId, string exceptionType, string stackTrace);
}
