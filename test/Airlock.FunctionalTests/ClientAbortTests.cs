using System.Net;
using Airlock.Core.Audit;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;
using Microsoft.AspNetCore.Http;

namespace Airlock.FunctionalTests;

/// <summary>A developer pressing Esc in Claude Code: the client goes away, the upstream call must stop too.</summary>
public sealed class ClientAbortTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Client_leaving_mid_stream_cancels_the_upstream_and_is_recorded()
    {
        await using var probe = await ProbeUpstream.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            while (true)
            {
                await Task.Delay(100, context.RequestAborted);
                await context.Response.WriteAsync("event: ping\ndata: {\"type\": \"ping\"}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        });
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Upstreams = [c.Upstreams[0] with { Url = probe.BaseUri }] });

        using var cancel = new CancellationTokenSource();
        using var request = harness.Messages(RequestBodies.Streaming());
        using (var response = await harness.SendStreamingAsync(request, cancel.Token))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var events = SseStreamReader.ReadEventsAsync(await response.Content.ReadAsStreamAsync(cancel.Token), cancel.Token).GetAsyncEnumerator(cancel.Token);
            Assert.True(await events.MoveNextAsync());
            Assert.Equal("message_start", events.Current.Name);
            Assert.True(await events.MoveNextAsync());
            Assert.Equal("ping", events.Current.Name);
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await events.MoveNextAsync());
            await events.DisposeAsync();
        }

        // The client's HttpClient may linger up to its own drain timeout (2 s) before it closes the connection;
        // from then on the gateway must hang up on the upstream at once (it used to drain, and sometimes never stopped).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var record = await harness.SingleAuditAsync();
        var recordedAt = clock.Elapsed;
        // The upstream streams forever, so a gateway that never hangs up fails here whatever the patience; 60 s, not less,
        // because the outcome must not depend on how loaded the machine is (a 10 s wait failed once at load 16).
        var aborted = await Task.WhenAny(probe.Aborted, Task.Delay(TimeSpan.FromSeconds(60))) == probe.Aborted;
        Assert.True(aborted, $"upstream still streaming {clock.Elapsed.TotalSeconds:0.0} s after the client left (recorded after {recordedAt.TotalSeconds:0.0} s)");
        Assert.Equal(AuditOutcome.ClientAbort, record.Outcome);
        Assert.Equal("client_abort", record.ErrorType);
        Assert.Equal(499, record.Status);
        Assert.Equal(3, record.InputTokens);
        Assert.NotNull(record.TimeToFirstByteMs);
    }

    [Fact]
    public async Task Client_leaving_while_the_upstream_floods_events_is_a_client_abort()
    {
        // The gateway is most likely writing to the client (not waiting on the upstream) when the client leaves.
        var delta = System.Text.Encoding.UTF8.GetBytes(
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + new string('x', 2000) + "\"}}\n\n");
        await using var probe = await ProbeUpstream.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n", context.RequestAborted);
            while (true)
            {
                await context.Response.Body.WriteAsync(delta, context.RequestAborted);
            }
        });
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Upstreams = [c.Upstreams[0] with { Url = probe.BaseUri }] });

        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var cancel = new CancellationTokenSource();
            using var request = harness.Messages(RequestBodies.Streaming());
            using var response = await harness.SendStreamingAsync(request, cancel.Token);
            var stream = await response.Content.ReadAsStreamAsync(cancel.Token);
            var buffer = new byte[64 * 1024];
            for (var read = 0; read < 256 * 1024;)
            {
                read += await stream.ReadAsync(buffer, cancel.Token);
            }
            await cancel.CancelAsync();
        }

        var records = await harness.AuditAsync(5);
        Assert.Equal(5, records.Count);
        Assert.All(records, r => Assert.Equal("client_abort", r.ErrorType));
    }

    [Fact]
    public async Task Client_leaving_before_the_first_byte_cancels_the_upstream_and_is_recorded()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.Hang());

        using var cancel = new CancellationTokenSource();
        using var request = harness.Messages(RequestBodies.Streaming());
        var sending = harness.SendStreamingAsync(request, cancel.Token);
        await harness.Upstream.WaitForRequestsAsync(1, TimeSpan.FromSeconds(10));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.ClientAbort, record.Outcome);
        Assert.Equal("client_abort", record.ErrorType);
        Assert.Null(record.TimeToFirstByteMs);
    }

    [Fact]
    public async Task Upstream_observes_the_cancellation_when_the_client_leaves_before_the_first_byte()
    {
        await using var probe = await ProbeUpstream.StartAsync(context => Task.Delay(Timeout.Infinite, context.RequestAborted));
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Upstreams = [c.Upstreams[0] with { Url = probe.BaseUri }] });

        using var cancel = new CancellationTokenSource();
        using var request = harness.Messages(RequestBodies.Streaming());
        var sending = harness.SendStreamingAsync(request, cancel.Token);
        await probe.Arrived.WaitAsync(TimeSpan.FromSeconds(10));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);

        await probe.Aborted.WaitAsync(TimeSpan.FromSeconds(10));
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.ClientAbort, record.Outcome);
    }
}
