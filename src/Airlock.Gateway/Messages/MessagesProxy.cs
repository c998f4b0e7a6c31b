using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Core.Identity;
using Airlock.Core.Routing;
using Airlock.Gateway.Audit;
using Airlock.Gateway.Inspection;
using Airlock.Gateway.Upstreams;
using Airlock.Protocols.Messages;
using Airlock.Protocols.Sse;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Airlock.Gateway.Messages;

/// <summary>
/// The Messages front door: <c>POST /v1/messages</c>, <c>POST /v1/messages/count_tokens</c>,
/// <c>GET /v1/models</c>. Each request goes identify → read and validate → route → forward →
/// relay → record, and every exit path, including failures and client aborts, produces exactly
/// one audit record.
/// </summary>
internal sealed partial class MessagesProxy(
    AirlockConfig config,
    KeyAuthenticator authenticator,
    ModelRouter router,
    UpstreamRegistry upstreams,
    AuditWriter audit,
    GatewayInspection inspection,
    TimeProvider time,
    ILogger<MessagesProxy> logger)
{
    private const string Door = "messages";
    private const int RelayBufferSize = 16 * 1024;
    private const int MaxTeeBytes = 8 * 1024 * 1024;

    public Task MessagesAsync(HttpContext context) => HandlePostAsync(context, "messages");

    public Task CountTokensAsync(HttpContext context) => HandlePostAsync(context, "count_tokens");

    private Task HandlePostAsync(HttpContext context, string operation) =>
        RunExchangeAsync(context, operation, async exchange =>
        {
            using var body = await RequestBody.ReadAsync(context.Request, config.Limits.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
            await HandleBodyAsync(context, exchange, body).ConfigureAwait(false);
        });

    public Task ModelsAsync(HttpContext context) =>
        RunExchangeAsync(context, "models", async exchange =>
        {
            if (router.CatchAll() is { } upstream)
            {
                // A catch-all route serves any model name: the upstream's own list is the truth.
                exchange.Upstream = upstream.Name;
                await ForwardAsync(context, exchange, upstreams.Get(upstream.Name), HttpMethod.Get, null).ConfigureAwait(false);
                return;
            }
            exchange.Status = 200;
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(ModelList.Build(router.LiteralModels().Select(m => m.Model)), context.RequestAborted).ConfigureAwait(false);
        });

    /// <summary>
    /// The one place every request's exit paths are handled: authenticate, run <paramref name="handle"/>, map a
    /// client that left to <c>client_abort</c> and anything unexpected to a 500, and record exactly one audit
    /// record whatever happened.
    /// </summary>
    private async Task RunExchangeAsync(HttpContext context, string operation, Func<Exchange, Task> handle)
    {
        var exchange = new Exchange(context, Door, operation, time.GetUtcNow());
        context.Response.Headers["x-airlock-request-id"] = exchange.RequestId;
        try
        {
            if (await AuthenticateAsync(context, exchange).ConfigureAwait(false))
            {
                await handle(exchange).ConfigureAwait(false);
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
            await RejectAsync(context, exchange, ex.StatusCode, AnthropicErrors.TypeForStatus(ex.StatusCode),
                "malformed HTTP request body", "bad_http_request").ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await FailInternallyAsync(context, exchange, ex).ConfigureAwait(false);
        }
        finally
        {
            await RecordAsync(exchange).ConfigureAwait(false);
        }
    }

    private async Task HandleBodyAsync(HttpContext context, Exchange exchange, RequestBody? body)
    {
        if (body is null)
        {
            await RejectAsync(context, exchange, 413, AnthropicErrors.RequestTooLarge,
                $"request body exceeds the gateway limit of {config.Limits.MaxBodyBytes} bytes", "body_too_large").ConfigureAwait(false);
            return;
        }
        exchange.RequestBytes = body.Length;
        exchange.BodySha256 = Convert.ToHexStringLower(SHA256.HashData(body.Span));
        if (!MessagesRequestReader.TryRead(body.Span, config.Limits.MaxJsonDepth, out var info, out var error))
        {
            await RejectAsync(context, exchange, 400, AnthropicErrors.InvalidRequest, error!, "invalid_body").ConfigureAwait(false);
            return;
        }
        exchange.Model = info.Model;
        if (string.IsNullOrEmpty(info.Model))
        {
            await RejectAsync(context, exchange, 400, AnthropicErrors.InvalidRequest, "model: field required", "invalid_body").ConfigureAwait(false);
            return;
        }
        // Routing is a lookup: a model nobody serves is refused before paying for inspection.
        var upstream = router.Resolve(info.Model);
        if (upstream is null)
        {
            await RejectAsync(context, exchange, 404, AnthropicErrors.NotFound,
                $"model '{Truncate(info.Model)}' is not served by this gateway (no route matches it)", "no_route").ConfigureAwait(false);
            return;
        }
        exchange.Upstream = upstream.Name;
        var forwardBody = body.Memory;
        if (inspection.Runtime is { } runtime)
        {
            var inspected = await InspectRequestAsync(context, exchange, runtime, body.Memory).ConfigureAwait(false);
            if (inspected is null)
            {
                return;
            }
            forwardBody = inspected.Value;
        }
        await ForwardAsync(context, exchange, upstreams.Get(upstream.Name), HttpMethod.Post, forwardBody).ConfigureAwait(false);
    }

    /// <summary>
    /// Scans the request. Returns the body to forward (the original bytes, or the same bytes with
    /// placeholders spliced into the strings that held redacted values), or null when the request was
    /// refused (blocked by policy, or inspection failed under the fail-closed policy).
    /// </summary>
    private async Task<ReadOnlyMemory<byte>?> InspectRequestAsync(HttpContext context, Exchange exchange, InspectionRuntime runtime, ReadOnlyMemory<byte> body)
    {
        Airlock.Inspection.Messages.RequestInspection result;
        try
        {
            result = runtime.RequestInspector.Inspect(body, exchange.Key?.Team, runtime.Policy);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogInspectionFailed(logger, exchange.RequestId, ex.GetType().FullName ?? "exception");
            if (runtime.Config.FailClosed)
            {
                await RejectAsync(context, exchange, 500, AnthropicErrors.Api,
                    $"request refused: inspection failed and the gateway fails closed (request id {exchange.RequestId})", "inspection_error").ConfigureAwait(false);
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
                await RejectAsync(context, exchange, 400, AnthropicErrors.InvalidRequest,
                    result.BlockReason ?? "request refused: it could not be inspected completely", "inspection_incomplete").ConfigureAwait(false);
                return null;
            }
            exchange.ErrorType = "inspection_incomplete_passed";
            return body;
        }
        if (result.Blocked)
        {
            var rule = result.BlockingFinding?.RuleId ?? "unknown";
            await RejectAsync(context, exchange, 400, AnthropicErrors.InvalidRequest,
                result.BlockReason ?? $"request blocked by Airlock policy: rule {rule}", "blocked:" + rule, AuditOutcome.Blocked).ConfigureAwait(false);
            return null;
        }
        return result.Body;
    }

    private async Task<bool> AuthenticateAsync(HttpContext context, Exchange exchange)
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
            await RejectAsync(context, exchange, status, AnthropicErrors.TypeForStatus(status), result.Message,
                "auth_" + result.Failure.ToString().ToLowerInvariant()).ConfigureAwait(false);
            return false;
        }
        return true;
    }

    /// <summary>
    /// Claude Code sends the key as <c>x-api-key</c> (ANTHROPIC_API_KEY), as <c>Authorization: Bearer</c>
    /// (ANTHROPIC_AUTH_TOKEN) or as both (apiKeyHelper).
    /// </summary>
    private static string? PresentedKey(HttpRequest request)
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

    private async Task ForwardAsync(HttpContext context, Exchange exchange, UpstreamClient client, HttpMethod method, ReadOnlyMemory<byte>? body)
    {
        using var request = new HttpRequestMessage(method, client.BuildUri(context.Request.Path.Value!, context.Request.QueryString.Value));
        if (body is { } content)
        {
            request.Content = new ReadOnlyMemoryContent(content);
        }
        // The client's own content headers travel verbatim; a body without a declared type is JSON.
        HeaderPolicy.CopyRequestHeaders(context.Request.Headers, request);
        if (request.Content is not null && request.Content.Headers.ContentType is null)
        {
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        client.ApplyCredential(request);

        HttpResponseMessage response;
        using (var firstByte = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted))
        {
            firstByte.CancelAfter(client.Config.FirstByteTimeout);
            try
            {
                response = await client.Invoker.SendAsync(request, firstByte.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException ex)
            {
                var connect = ex.InnerException is TimeoutException;
                await RejectAsync(context, exchange, 504, AnthropicErrors.Api,
                    connect
                        ? $"upstream '{client.Config.Name}' could not be reached within {client.Config.ConnectTimeout.TotalSeconds:0.#}s"
                        : $"upstream '{client.Config.Name}' did not answer within {client.Config.FirstByteTimeout.TotalSeconds:0.#}s",
                    connect ? "upstream_connect_timeout" : "upstream_timeout", AuditOutcome.UpstreamError).ConfigureAwait(false);
                return;
            }
            catch (HttpRequestException ex)
            {
                var reason = UpstreamErrorName(ex.HttpRequestError);
                await RejectAsync(context, exchange, 502, AnthropicErrors.Api,
                    $"upstream '{client.Config.Name}' is unreachable ({reason})", "upstream_" + reason, AuditOutcome.UpstreamError).ConfigureAwait(false);
                return;
            }
        }

        using (response)
        {
            exchange.MarkFirstByte();
            var status = (int)response.StatusCode;
            exchange.Status = status;
            if (response.Headers.TryGetValues("request-id", out var ids))
            {
                exchange.UpstreamRequestId = ids.FirstOrDefault();
            }
            if (status is >= 300 and < 400)
            {
                // No Messages API redirects. Relaying one would send the client, with its unredacted body, to an
                // address the egress policy never vetted; following it could leave the allowed network.
                await RejectAsync(context, exchange, 502, AnthropicErrors.Api,
                    $"upstream '{client.Config.Name}' answered with a redirect ({status}); Airlock does not follow or relay redirects",
                    "upstream_redirect", AuditOutcome.UpstreamError).ConfigureAwait(false);
                return;
            }
            if (status >= 400)
            {
                exchange.Fail(AuditOutcome.UpstreamError, "upstream_status_" + status);
            }
            var isSse = response.Content.Headers.ContentType?.MediaType is "text/event-stream";
            context.Response.StatusCode = status;
            HeaderPolicy.CopyResponseHeaders(response, context.Response, keepContentLength: !isSse);
            await RelayAsync(context, exchange, client, response, isSse).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Copies the upstream body to the client as it arrives: every read is written and flushed at
    /// once, so each SSE event (pings included) reaches the client when the upstream sends it. The
    /// bytes are observed on the way (usage, completion) and never changed.
    /// </summary>
    private async Task RelayAsync(HttpContext context, Exchange exchange, UpstreamClient client, HttpResponseMessage response, bool isSse)
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var usage = new MessagesUsageTracker();
        exchange.Usage = usage;
        using var parser = isSse ? new SseEventParser() : null;
        var output = isSse && exchange.Status < 400 && inspection.Runtime is { } runtime
            ? runtime.CreateOutputInspector(exchange.Key?.Team)
            : null;
        var observer = new RelayObserver(usage, output);
        var tee = !isSse && exchange.Status < 400 ? new ArrayBufferWriter<byte>(4096) : null;
        var clientBody = context.Response.BodyWriter;
        var buffer = ArrayPool<byte>.Shared.Rent(RelayBufferSize);
        string? failure = null;
        try
        {
            await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
            var upstreamBody = await response.Content.ReadAsStreamAsync(context.RequestAborted).ConfigureAwait(false);
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            while (true)
            {
                idle.CancelAfter(client.Config.IdleTimeout);
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
                if (read == 0)
                {
                    break;
                }
                var chunk = buffer.AsMemory(0, read);
                parser?.Feed(chunk.Span, observer);
                if (observer.Blocking is not null)
                {
                    // Output policy says block: this chunk is not delivered and the stream ends with an error event.
                    failure = "output_blocked";
                    break;
                }
                if (tee is not null && tee.WrittenCount + read <= MaxTeeBytes)
                {
                    tee.Write(chunk.Span);
                }
                var flush = await clientBody.WriteAsync(chunk, context.RequestAborted).ConfigureAwait(false);
                exchange.ResponseBytes += read;
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
            await clientBody.WriteAsync(AnthropicErrors.SseEvent(AnthropicErrors.Api,
                $"answer stopped by Airlock output policy: rule {blocking.RuleId} at {blocking.Location}"), context.RequestAborted).ConfigureAwait(false);
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
        LogRelayFailed(logger, exchange.RequestId, client.Config.Name, failure);
        if (isSse)
        {
            if (usage.StreamErrorType is null)
            {
                // Tell the client in its own protocol that the answer is incomplete, instead of a silent EOF.
                var message = failure switch
                {
                    "upstream_idle_timeout" => $"upstream '{client.Config.Name}' stopped sending for {client.Config.IdleTimeout.TotalSeconds:0.#}s; the answer is incomplete",
                    "upstream_stream_incomplete" => $"upstream '{client.Config.Name}' ended the stream before message_stop; the answer is incomplete",
                    _ => $"upstream '{client.Config.Name}' connection was lost mid-stream; the answer is incomplete",
                };
                await clientBody.WriteAsync(AnthropicErrors.SseEvent(AnthropicErrors.Api, message), context.RequestAborted).ConfigureAwait(false);
            }
        }
        else
        {
            // A truncated JSON body must not look complete: reset the connection.
            context.Abort();
        }
    }

    /// <summary>
    /// The client left: RequestAborted fired, or the response pipe reported the connection closed before
    /// RequestAborted did (the relay then throws with the RequestAborted token). Both are a client abort,
    /// not an internal error.
    /// </summary>
    private static bool IsClientGone(HttpContext context, Exception ex) =>
        ex is OperationCanceledException or IOException
        && (context.RequestAborted.IsCancellationRequested
            || (ex is OperationCanceledException { CancellationToken: var token } && token == context.RequestAborted));

    private static async Task RejectAsync(HttpContext context, Exchange exchange, int status, string type, string message, string errorType,
        AuditOutcome outcome = AuditOutcome.Rejected)
    {
        exchange.Status = status;
        exchange.Fail(outcome, errorType);
        if (context.Response.HasStarted)
        {
            return;
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (status == 401)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"airlock\"";
        }
        var bytes = AnthropicErrors.Body(type, message);
        exchange.ResponseBytes += bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task FailInternallyAsync(HttpContext context, Exchange exchange, Exception ex)
    {
        // The exception type is logged, never the message: it might quote request content.
        LogInternalError(logger, exchange.RequestId, ex.GetType().FullName ?? "exception", new StackTrace(ex).ToString());
        exchange.Fail(AuditOutcome.Rejected, "internal_error");
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }
        try
        {
            await RejectAsync(context, exchange, 500, AnthropicErrors.Api,
                $"internal gateway error (request id {exchange.RequestId})", "internal_error").ConfigureAwait(false);
        }
        catch (Exception writeError) when (writeError is IOException or OperationCanceledException)
        {
            context.Abort();
        }
    }

    private async Task RecordAsync(Exchange exchange)
    {
        var record = exchange.ToRecord();
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var outcome = AuditOutcomeText(record.Outcome);
            LogRequest(logger, record.RequestId, record.Operation, record.KeyId ?? "-", record.Model ?? "-", record.Upstream ?? "-",
                record.Status, outcome, record.LatencyMs);
        }
        await audit.EnqueueAsync(record).ConfigureAwait(false);
    }

    private static string AuditOutcomeText(AuditOutcome outcome) => Storage.Sqlite.AuditOutcomes.ToText(outcome);

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

    // Debug, not Information: the audit trail is the access log; a console line per request costs throughput.
    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug,
        Message = "{RequestId} {Operation} key={KeyId} model={Model} upstream={Upstream} status={Status} outcome={Outcome} {LatencyMs:0.0}ms")]
    private static partial void LogRequest(ILogger logger, string requestId, string operation, string keyId, string model, string upstream,
        int status, string outcome, double latencyMs);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "{RequestId} relay from upstream {Upstream} failed: {Failure}")]
    private static partial void LogRelayFailed(ILogger logger, string requestId, string upstream, string failure);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "{RequestId} inspection failed: {ExceptionType}")]
    private static partial void LogInspectionFailed(ILogger logger, string requestId, string exceptionType);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "{RequestId} internal error {ExceptionType} at {StackTrace}")]
    private static partial void LogInternalError(ILogger logger, string requestId, string exceptionType, string stackTrace);
}
