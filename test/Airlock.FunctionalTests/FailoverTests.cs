using System.Net;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>Retries and failover happen before the first byte only: throttling, 5xx and connect failures; Retry-After is honoured.</summary>
public sealed class FailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Throttling_and_5xx_are_retried_with_backoff_then_the_answer_is_relayed()
    {
        await using var harness = await GatewayHarness.StartAsync(output, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { Retries = 2, RetryBackoff = TimeSpan.FromMilliseconds(20) }],
        });
        harness.Upstream.Enqueue(
            UpstreamReply.Error(429, "rate_limit_error", "slow down"),
            UpstreamReply.Error(529, "overloaded_error", "Overloaded"),
            UpstreamReply.Text("Third time lucky."));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_stop", events[^1].Name);
        Assert.Equal(3, harness.Upstream.MessagesRequests.Count);
        // Every attempt carries the same bytes.
        Assert.Single(harness.Upstream.MessagesRequests.Select(r => r.BodyText).Distinct());
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
    }

    [Fact]
    public async Task When_retries_run_out_the_last_upstream_answer_is_what_the_client_gets()
    {
        await using var harness = await GatewayHarness.StartAsync(output, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { Retries = 1, RetryBackoff = TimeSpan.FromMilliseconds(10) }],
        });
        harness.Upstream.Enqueue(UpstreamReply.Error(503, "api_error", "first"), UpstreamReply.Error(503, "api_error", "second"));

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api_error");
        Assert.Equal("second", message);
        Assert.Equal(2, harness.Upstream.MessagesRequests.Count);
        Assert.Equal("upstream_status_503", (await harness.SingleAuditAsync()).ErrorType);
    }

    [Fact]
    public async Task A_dead_primary_fails_over_to_the_next_upstream_of_the_route()
    {
        await using var harness = await GatewayHarness.StartAsync(output, configure: c => c with
        {
            Upstreams =
            [
                new UpstreamConfig { Name = "dead", Kind = UpstreamKind.Messages, Url = new Uri("http://127.0.0.1:1") },
                c.Upstreams[0],
            ],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "dead", Fallbacks = ["main"] }],
        });

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_stop", events[^1].Name);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("main", record.Upstream);
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
    }

    [Fact]
    public async Task Nothing_is_retried_once_bytes_reached_the_client()
    {
        await using var harness = await GatewayHarness.StartAsync(output, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { Retries = 3, RetryBackoff = TimeSpan.FromMilliseconds(10) }],
        });
        harness.Upstream.Enqueue(UpstreamReply.DieMidStream(3));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal("error", events[^1].Name);
        Assert.Single(harness.Upstream.MessagesRequests);
        Assert.Equal("upstream_stream_broken", (await harness.SingleAuditAsync()).ErrorType);
    }

    [Fact]
    public async Task A_retry_waits_at_least_the_retry_after_the_upstream_asked_for()
    {
        var jitter = new CountingRandom();
        await using var harness = await GatewayHarness.StartAsync(output, retryJitter: jitter, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { Retries = 1, RetryBackoff = TimeSpan.FromMilliseconds(10) }],
        });
        harness.Upstream.Enqueue(UpstreamReply.Error(429, "rate_limit_error", "slow down").WithHeader("retry-after", "2"), UpstreamReply.Text("Waited."));

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var attempts = harness.Upstream.MessagesRequests;
        Assert.Equal(2, attempts.Count);
        // A lower bound only (a slow machine makes the gap longer, never shorter): the 10 ms backoff alone would not reach it.
        Assert.True(attempts[1].ReceivedAt - attempts[0].ReceivedAt >= TimeSpan.FromSeconds(2), $"retried after {attempts[1].ReceivedAt - attempts[0].ReceivedAt}");
        Assert.Equal(1, jitter.Draws);
        Assert.Equal(AuditOutcome.Ok, (await harness.SingleAuditAsync()).Outcome);
    }

    [Fact]
    public async Task A_retry_after_longer_than_any_backoff_moves_on_to_the_next_upstream_at_once()
    {
        var jitter = new CountingRandom();
        await using var harness = await GatewayHarness.StartAsync(output, retryJitter: jitter, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { Retries = 3, RetryBackoff = TimeSpan.FromMilliseconds(10) }, c.Upstreams[0] with { Name = "second" }],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "main", Fallbacks = ["second"] }],
        });
        harness.Upstream.Enqueue(UpstreamReply.Error(429, "rate_limit_error", "come back in two minutes").WithHeader("retry-after", "120"), UpstreamReply.Text("From the second."));

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("From the second.", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // One attempt on main (its three retries are not spent waiting for nothing), one on the fallback, no backoff.
        Assert.Equal(2, harness.Upstream.MessagesRequests.Count);
        Assert.Equal(0, jitter.Draws);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("second", record.Upstream);
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
    }

    [Fact]
    public async Task A_long_retry_after_on_the_last_upstream_goes_to_the_client_at_once()
    {
        var jitter = new CountingRandom();
        await using var harness = await GatewayHarness.StartAsync(output, retryJitter: jitter, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { Retries = 3, RetryBackoff = TimeSpan.FromMilliseconds(10) }],
        });
        harness.Upstream.Enqueue(UpstreamReply.Error(429, "rate_limit_error", "come back in two minutes").WithHeader("retry-after", "120"));

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal("come back in two minutes", await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.TooManyRequests, "rate_limit_error"));
        // The client (Claude Code honours retry-after) learns when to come back; the gateway does not hold the request.
        Assert.Equal("120", response.Headers.GetValues("retry-after").Single());
        Assert.Single(harness.Upstream.MessagesRequests);
        Assert.Equal(0, jitter.Draws);
        Assert.Equal("upstream_status_429", (await harness.SingleAuditAsync()).ErrorType);
    }
}
