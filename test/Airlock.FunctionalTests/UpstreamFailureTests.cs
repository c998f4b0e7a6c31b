using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;
using Microsoft.AspNetCore.Http;

namespace Airlock.FunctionalTests;

/// <summary>
/// The upstream fails before answering (502/504 in the Anthropic shape) or while streaming (an SSE
/// <c>error</c> event, never a silent EOF); the audit record says which.
/// </summary>
public sealed class UpstreamFailureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Unreachable_upstream_is_502_api_error()
    {
        var closed = ProbeUpstream.ClosedPort();
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Upstreams = [c.Upstreams[0] with { Url = closed }] });

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadGateway, "api_error");
        Assert.Contains("'main'", message, StringComparison.Ordinal);
        Assert.DoesNotContain(closed.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), message, StringComparison.Ordinal);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_connection_error", record.ErrorType);
        Assert.Equal(502, record.Status);
        Assert.Equal("main", record.Upstream);
        Assert.Equal(GatewayHarness.DeveloperUser, record.User);
    }

    [Fact]
    public async Task Upstream_that_cannot_be_connected_within_the_connect_timeout_is_504()
    {
        // A listener whose accept queue is full: the kernel drops further SYNs, so connecting hangs.
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start(backlog: 1);
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var fillers = new List<System.Net.Sockets.TcpClient>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var filler = new System.Net.Sockets.TcpClient();
                fillers.Add(filler);
                _ = filler.ConnectAsync(IPAddress.Loopback, port);
            }
            await Task.Delay(200);
            await using var harness = await GatewayHarness.StartAsync(output, c => c with
            {
                Upstreams = [c.Upstreams[0] with { Url = new Uri($"http://127.0.0.1:{port}"), ConnectTimeout = TimeSpan.FromMilliseconds(500) }],
            });

            using var request = harness.Messages(RequestBodies.Streaming());
            using var response = await harness.Client.SendAsync(request);

            var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.GatewayTimeout, "api_error");
            Assert.Contains("could not be reached within 0.5s", message, StringComparison.Ordinal);
            var record = await harness.SingleAuditAsync();
            Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
            Assert.Equal("upstream_connect_timeout", record.ErrorType);
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
            listener.Stop();
        }
    }

    [Fact]
    public async Task Upstream_silent_past_the_first_byte_timeout_is_504()
    {
        await using var harness = await GatewayHarness.StartAsync(output, c => c with
        {
            Upstreams = [c.Upstreams[0] with { FirstByteTimeout = TimeSpan.FromMilliseconds(600) }],
        });
        harness.Upstream.Enqueue(UpstreamReply.Hang());
        var clock = Stopwatch.StartNew();

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.GatewayTimeout, "api_error");
        Assert.Contains("did not answer within 0.6s", message, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(550), TimeSpan.FromSeconds(10));
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_timeout", record.ErrorType);
        Assert.Equal(504, record.Status);
    }

    [Fact]
    public async Task Upstream_dying_mid_stream_ends_with_an_sse_error_event()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.DieMidStream(afterEvents: 4));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["message_start", "content_block_start", "ping", "content_block_delta", "error"], events.Select(e => e.Name));
        var message = ErrorAssert.IsErrorJson(events[^1].Data, "api_error");
        Assert.Contains("incomplete", message, StringComparison.Ordinal);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_stream_broken", record.ErrorType);
        Assert.Equal(200, record.Status);
        Assert.Equal(25, record.InputTokens);
        Assert.NotNull(record.TimeToFirstByteMs);
    }

    [Fact]
    public async Task Upstream_error_event_mid_stream_is_relayed_once_and_recorded()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.ErrorEventMidStream(afterEvents: 3, "overloaded_error", "Overloaded"));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal("error", events[^1].Name);
        Assert.Equal(1, events.Count(e => e.Name == "error"));
        Assert.Equal("Overloaded", ErrorAssert.IsErrorJson(events[^1].Data, "overloaded_error"));
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_stream_error:overloaded_error", record.ErrorType);
    }

    [Fact]
    public async Task Stream_ending_without_message_stop_gets_an_error_event()
    {
        await using var probe = await ProbeUpstream.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync(
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":11,\"output_tokens\":1}}}\n\n" +
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"par\"}}\n\n" +
                // A name without data is not an event: it must not count as the end of the message.
                "event: message_stop\n\n");
        });
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Upstreams = [c.Upstreams[0] with { Url = probe.BaseUri }] });

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["message_start", "content_block_delta", "error"], events.Select(e => e.Name));
        Assert.Contains("message_stop", ErrorAssert.IsErrorJson(events[^1].Data, "api_error"), StringComparison.Ordinal);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_stream_incomplete", record.ErrorType);
        Assert.Equal(11, record.InputTokens);
    }

    [Fact]
    public async Task Upstream_idle_past_the_idle_timeout_mid_stream_gets_an_error_event()
    {
        await using var probe = await ProbeUpstream.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        await using var harness = await GatewayHarness.StartAsync(output, c => c with
        {
            Upstreams = [c.Upstreams[0] with { Url = probe.BaseUri, IdleTimeout = TimeSpan.FromMilliseconds(500) }],
        });

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(["message_start", "error"], events.Select(e => e.Name));
        ErrorAssert.IsErrorJson(events[^1].Data, "api_error");
        var record = await harness.SingleAuditAsync();
        Assert.Equal("upstream_idle_timeout", record.ErrorType);
        // The gateway hung up on the silent upstream.
        await probe.Aborted.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Non_streamed_answer_cut_off_resets_the_client_connection()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.DieMidStream(afterEvents: 0));

        using var request = harness.Messages(RequestBodies.NonStreaming());

        // Half a JSON body must not look like a complete answer. The gateway relays a JSON body one read behind (its
        // last segment waits for the audit record), so the reset may come before the headers or during the body.
        await Assert.ThrowsAnyAsync<HttpRequestException>(async () =>
        {
            using var response = await harness.SendStreamingAsync(request);
            await response.Content.ReadAsByteArrayAsync();
        });
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_stream_broken", record.ErrorType);
    }

    [Fact]
    public async Task Upstream_answering_with_an_unexpected_content_type_is_relayed_as_is()
    {
        await using var probe = await ProbeUpstream.StartAsync(async context =>
        {
            context.Response.StatusCode = 503;
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync("<html>Service Unavailable</html>");
        });
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Upstreams = [c.Upstreams[0] with { Url = probe.BaseUri }] });

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("<html>Service Unavailable</html>", await response.Content.ReadAsStringAsync());
        var record = await harness.SingleAuditAsync();
        Assert.Equal("upstream_status_503", record.ErrorType);
    }

    [Fact]
    public async Task Upstream_rejecting_the_gateway_credential_is_not_the_developers_fault()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamCredential: "a-stale-gateway-credential");

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("authentication_error", document.RootElement.GetProperty("error").GetProperty("type").GetString());
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_status_401", record.ErrorType);
        Assert.Equal(harness.DeveloperKeyRecord.Id, record.KeyId);
    }
}
