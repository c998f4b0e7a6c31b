using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Airlock.Core.Audit;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// What crosses the gateway unchanged: body bytes, headers and query in; status, headers and error bodies out.
/// Claude Code sends new fields and beta headers every release; a gateway that drops or rewrites them breaks it.
/// </summary>
public sealed class PassthroughTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Upstream_receives_the_exact_body_headers_and_query_but_not_the_client_key()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var body = RequestBodies.Unusual();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages?beta=true") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        GatewayHarness.AddClaudeCodeHeaders(request, "session-abc");
        request.Headers.TryAddWithoutValidation("anthropic-beta", "context-management-2025-06-27");
        request.Headers.TryAddWithoutValidation("anthropic-foo", "Some Value; with=params, and,commas");
        request.Headers.TryAddWithoutValidation("x-stainless-lang", "js");
        request.Headers.TryAddWithoutValidation("x-stainless-retry-count", "0");
        request.Headers.TryAddWithoutValidation("x-stainless-timeout", "600");
        request.Headers.TryAddWithoutValidation("x-claude-code-prompt-id", "prompt-42");
        // apiKeyHelper sends the key both ways.
        request.Headers.TryAddWithoutValidation("x-api-key", harness.DeveloperKey);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);

        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_stop", events[^1].Name);
        var received = Assert.Single(harness.Upstream.Requests);
        Assert.Equal("POST", received.Method);
        Assert.Equal("/v1/messages", received.Path);
        Assert.Equal("?beta=true", received.QueryString);
        Assert.Equal(body, received.GetBodyBytes());
        Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), received.Header("content-length"));
        Assert.Equal(["application/json"], received.Headers["content-type"]);
        Assert.Equal(["2023-06-01"], received.Headers["anthropic-version"]);
        // Two anthropic-beta header lines may be joined with a comma (RFC 9110 §5.3); every value must arrive, in order.
        Assert.Equal(
            ["claude-code-20250219", "interleaved-thinking-2025-05-14", "context-management-2025-06-27"],
            received.Headers["anthropic-beta"].SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries)));
        Assert.Equal(["Some Value; with=params, and,commas"], received.Headers["anthropic-foo"]);
        Assert.Equal(["js"], received.Headers["x-stainless-lang"]);
        Assert.Equal(["0"], received.Headers["x-stainless-retry-count"]);
        Assert.Equal(["600"], received.Headers["x-stainless-timeout"]);
        Assert.Equal(["prompt-42"], received.Headers["x-claude-code-prompt-id"]);
        Assert.Equal(["session-abc"], received.Headers["x-claude-code-session-id"]);
        Assert.Equal(["cli"], received.Headers["x-app"]);
        Assert.Equal(["claude-cli/2.1.330 (external, sdk-cli)"], received.Headers["user-agent"]);
        // The gateway's own credential replaces the developer's key.
        Assert.Equal([harness.Upstream.ApiKey], received.Headers["x-api-key"]);
        Assert.False(received.Headers.ContainsKey("authorization"));
        Assert.DoesNotContain(received.HeaderLines, h => h.Value.Contains(harness.DeveloperKey, StringComparison.Ordinal));
        Assert.DoesNotContain(received.HeaderLines, h => h.Value.Contains(harness.DeveloperKeyRecord.Id, StringComparison.Ordinal));
        Assert.Equal($"127.0.0.1:{harness.Upstream.Port}", received.Header("host"));

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal(body.Length, record.RequestBytes);
        await harness.AssertNotStoredAsync(RequestBodies.ContentMarker);
    }

    [Fact]
    public async Task Path_without_beta_query_is_forwarded_without_one()
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using var request = harness.Messages(Encoding.UTF8.GetBytes(RequestBodies.NonStreaming()), path: "/v1/messages");
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(harness.Upstream.Requests);
        Assert.Equal("/v1/messages", received.Path);
        Assert.Equal("", received.QueryString);
    }

    [Fact]
    public async Task Response_headers_for_retries_and_rate_limits_reach_the_client()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.Text("ok")
            .WithHeader("anthropic-ratelimit-unified-status", "allowed_warning")
            .WithHeader("anthropic-ratelimit-unified-reset", "1767225600")
            .WithHeader("x-should-retry", "false")
            .WithHeader("retry-after", "7"));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("req_", Header(response, "request-id"), StringComparison.Ordinal);
        Assert.Equal("4000", Header(response, "anthropic-ratelimit-requests-limit"));
        Assert.Equal("3999", Header(response, "anthropic-ratelimit-requests-remaining"));
        Assert.Equal("400000", Header(response, "anthropic-ratelimit-tokens-limit"));
        Assert.Equal("allowed_warning", Header(response, "anthropic-ratelimit-unified-status"));
        Assert.Equal("1767225600", Header(response, "anthropic-ratelimit-unified-reset"));
        Assert.Equal("false", Header(response, "x-should-retry"));
        Assert.Equal("7", Header(response, "retry-after"));
        Assert.Equal("no-cache", Header(response, "cache-control"));
        Assert.Equal(32, Header(response, "x-airlock-request-id")!.Length);
    }

    [Theory]
    [InlineData(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit")]
    [InlineData(529, "overloaded_error", "Overloaded")]
    [InlineData(400, "invalid_request_error", "messages.1.content.0: unexpected tool_use_id")]
    [InlineData(500, "api_error", "Internal server error")]
    [InlineData(401, "authentication_error", "invalid x-api-key")]
    public async Task Upstream_error_status_headers_and_body_pass_back_unchanged(int status, string type, string message)
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.Error(status, type, message, new KeyValuePair<string, string>("anthropic-organization-id", "org-1")));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(status, (int)response.StatusCode);
        var requestId = Header(response, "request-id")!;
        // The scripted upstream writes exactly this body; the gateway must not touch a byte of it.
        Assert.Equal(MessagesEvents.ErrorBody(type, message, requestId), body);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("org-1", Header(response, "anthropic-organization-id"));
        var retryable = status is 429 or >= 500;
        Assert.Equal(retryable ? "true" : "false", Header(response, "x-should-retry"));
        Assert.Equal(retryable ? "1" : null, Header(response, "retry-after"));

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_status_" + status, record.ErrorType);
        Assert.Equal(status, record.Status);
        Assert.Equal("main", record.Upstream);
        Assert.Equal(requestId, record.UpstreamRequestId);
        Assert.Null(record.InputTokens);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(",", values)
            : null;
}
