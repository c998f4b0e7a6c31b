using System.Net;
using Airlock.Core.Audit;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;
using Microsoft.AspNetCore.Http;

namespace Airlock.FunctionalTests;

/// <summary>Upstream behaviours real deployments show: path prefixes, abrupt endings after a complete answer.</summary>
public sealed class EdgeCaseTests(ITestOutputHelper output)
{
    private const string CompleteStream =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":8,\"output_tokens\":1}}}\n\n" +
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"done\"}}\n\n" +
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":4}}\n\n" +
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    [Theory]
    [InlineData("/anthropic")]
    [InlineData("/anthropic/")]
    public async Task Upstream_url_path_prefix_is_kept(string prefix)
    {
        var seen = new List<string>();
        await using var probe = await ProbeUpstream.StartAsync(async context =>
        {
            lock (seen)
            {
                seen.Add(context.Request.Path.Value + context.Request.QueryString.Value);
            }
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync(CompleteStream);
        });
        await using var harness = await GatewayHarness.StartAsync(output, c => c with
        {
            Upstreams = [c.Upstreams[0] with { Url = new Uri(probe.BaseUri, prefix) }],
        });

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["/anthropic/v1/messages?beta=true"], seen);
        Assert.Equal(AuditOutcome.Ok, (await harness.SingleAuditAsync()).Outcome);
    }

    [Theory]
    [InlineData(301)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task Upstream_redirect_is_neither_followed_nor_relayed(int status)
    {
        // Relaying a redirect would send the client, with its unredacted body, to an address the gateway
        // never vetted: the egress level promises only configured upstreams are reached.
        await using var probe = await ProbeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = status;
            context.Response.Headers.Location = "http://127.0.0.1:1/v1/messages";
            return Task.CompletedTask;
        });
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Upstreams = [c.Upstreams[0] with { Url = probe.BaseUri }] });

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.Client.SendAsync(request);

        await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadGateway, "api_error");
        Assert.Null(response.Headers.Location);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_redirect", record.ErrorType);
        Assert.Equal(502, record.Status);
    }

    [Fact]
    public async Task Connection_lost_after_message_stop_is_still_a_complete_answer()
    {
        await using var probe = await ProbeUpstream.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync(CompleteStream);
            await context.Response.Body.FlushAsync();
            // Let the bytes reach the gateway before the reset (a reset discards unread data).
            await Task.Delay(200);
            context.Abort();
        });
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Upstreams = [c.Upstreams[0] with { Url = probe.BaseUri }] });

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        // The answer was whole: appending an error event would make the client throw it away.
        Assert.Equal("message_stop", events[^1].Name);
        Assert.DoesNotContain(events, e => e.Name == "error");
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal(8, record.InputTokens);
        Assert.Equal(4, record.OutputTokens);
    }
}
