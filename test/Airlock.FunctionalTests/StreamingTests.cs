using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>The streamed Messages turn Claude Code makes on every prompt, end to end through the gateway.</summary>
public sealed class StreamingTests(ITestOutputHelper output)
{
    private const string AnswerText = "Hello! This answer is streamed through Airlock in many small deltas.";

    [Fact]
    public async Task Streaming_turn_relays_every_event_unchanged_and_records_one_audit_record()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.Text(AnswerText, inputTokens: 1234, outputTokens: 56));
        var body = Encoding.UTF8.GetBytes(RequestBodies.Streaming());
        var sessionId = "3f2a9c1e-" + Guid.NewGuid().ToString("N")[..8];

        using var request = harness.Messages(body, sessionId);
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("message_start", events[0].Name);
        var messageId = JsonDocument.Parse(events[0].Data).RootElement.GetProperty("message").GetProperty("id").GetString()!;
        var expected = MessagesEvents.ForText(messageId, RequestBodies.Model, AnswerText, 1234, 56);
        Assert.Equal(expected, events);
        Assert.Contains(events, e => e.Name == "ping");
        Assert.Equal("message_stop", events[^1].Name);

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Null(record.ErrorType);
        Assert.Equal(200, record.Status);
        Assert.Equal("messages", record.Door);
        Assert.Equal("messages", record.Operation);
        Assert.Equal(harness.DeveloperKeyRecord.Id, record.KeyId);
        Assert.Equal(GatewayHarness.DeveloperUser, record.User);
        Assert.Equal(GatewayHarness.DeveloperTeam, record.Team);
        Assert.Equal(sessionId, record.SessionId);
        Assert.Equal(RequestBodies.Model, record.Model);
        Assert.Equal("main", record.Upstream);
        Assert.Equal(1234, record.InputTokens);
        Assert.Equal(56, record.OutputTokens);
        Assert.Equal(0, record.CacheReadTokens);
        Assert.Equal(0, record.CacheCreationTokens);
        Assert.Equal(body.Length, record.RequestBytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(body)), record.BodySha256);
        Assert.Equal(response.Headers.GetValues("request-id").Single(), record.UpstreamRequestId);
        Assert.Equal(response.Headers.GetValues("x-airlock-request-id").Single(), record.RequestId);
        Assert.Equal("claude-cli/2.1.330 (external, sdk-cli)", record.UserAgent);
        Assert.Equal("127.0.0.1", record.ClientAddress);
        Assert.NotNull(record.TimeToFirstByteMs);
        Assert.InRange(record.TimeToFirstByteMs!.Value, 0.001, record.LatencyMs);
        Assert.True(record.ResponseBytes > 0);
        Assert.Empty(record.Findings);
        await harness.AssertNotStoredAsync(RequestBodies.ContentMarker);
    }

    [Fact]
    public async Task Each_event_reaches_the_client_when_the_upstream_sends_it()
    {
        var delay = TimeSpan.FromMilliseconds(250);
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.Text(AnswerText).WithEventDelay(delay));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var clock = Stopwatch.StartNew();
        var arrivals = new List<(string Name, TimeSpan At)>();
        await foreach (var sseEvent in SseStreamReader.ReadEventsAsync(await response.Content.ReadAsStreamAsync()))
        {
            arrivals.Add((sseEvent.Name, clock.Elapsed));
        }

        Assert.True(arrivals.Count >= 8, $"only {arrivals.Count} events");
        Assert.Equal("message_stop", arrivals[^1].Name);
        // The upstream waits `delay` between events: a gateway that buffered would deliver them all at once.
        // The first event must be in the client's hands long before the upstream sends the last one.
        var spread = arrivals[^1].At - arrivals[0].At;
        var upstreamSpread = delay * (arrivals.Count - 1);
        Assert.True(spread >= upstreamSpread * 0.8, $"events arrived within {spread.TotalMilliseconds:0} ms; the upstream spread them over {upstreamSpread.TotalMilliseconds:0} ms");
        var spacedGaps = arrivals.Zip(arrivals.Skip(1), (a, b) => b.At - a.At).Count(gap => gap >= delay * 0.4);
        Assert.True(spacedGaps >= arrivals.Count - 3, $"only {spacedGaps} of {arrivals.Count - 1} events arrived separately");
    }

    [Fact]
    public async Task Non_streaming_turn_is_relayed_with_its_length_and_usage_is_recorded()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.Text("plain answer", inputTokens: 77, outputTokens: 3));

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);
        var json = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(json);
        Assert.Equal("message", document.RootElement.GetProperty("type").GetString());
        Assert.Equal("plain answer", document.RootElement.GetProperty("content")[0].GetProperty("text").GetString());
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal(77, record.InputTokens);
        Assert.Equal(3, record.OutputTokens);
        Assert.Equal(Encoding.UTF8.GetByteCount(json), record.ResponseBytes);
    }

    [Fact]
    public async Task Tool_use_stream_is_relayed_and_its_usage_recorded()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.ToolUse("Read", new { file_path = "/work/project/README.md" }, inputTokens: 900, outputTokens: 41));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        var partialJson = string.Concat(events
            .Where(e => e.Name == "content_block_delta")
            .Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("delta").GetProperty("partial_json").GetString()));
        Assert.Equal("""{"file_path":"/work/project/README.md"}""", partialJson);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal(900, record.InputTokens);
        Assert.Equal(41, record.OutputTokens);
    }
}
