using System.Net;
using System.Security.Cryptography;
using System.Text;
using Airlock.Core.Audit;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

public sealed class ConcurrencyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Fifty_parallel_streams_all_complete_and_each_has_its_own_audit_record()
    {
        const int count = 50;
        await using var harness = await GatewayHarness.StartAsync(output);
        // Slow enough that the streams overlap.
        harness.Upstream.DefaultReply = UpstreamReply.Text("Parallel answers must not mix.").WithEventDelay(TimeSpan.FromMilliseconds(20));
        var bodies = Enumerable.Range(0, count)
            .Select(i => Encoding.UTF8.GetBytes(RequestBodies.Streaming(prompt: "request number " + i)))
            .ToArray();

        var results = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            using var request = harness.Messages(bodies[i], sessionId: "session-" + i);
            using var response = await harness.SendStreamingAsync(request);
            var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());
            return (response.StatusCode, Events: events);
        }));

        Assert.All(results, r =>
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("message_start", r.Events[0].Name);
            Assert.Equal("message_stop", r.Events[^1].Name);
            Assert.DoesNotContain(r.Events, e => e.Name == "error");
        });
        Assert.Equal(count, harness.Upstream.MessagesRequests.Count);
        var records = await harness.AuditAsync(count);
        Assert.Equal(count, records.Count);
        Assert.Equal(count, records.Select(r => r.RequestId).Distinct(StringComparer.Ordinal).Count());
        Assert.All(records, r =>
        {
            Assert.Equal(AuditOutcome.Ok, r.Outcome);
            Assert.Equal(25, r.InputTokens);
            Assert.Equal(10, r.OutputTokens);
            // Each record describes its own request: the session id and the body hash belong together.
            var index = int.Parse(r.SessionId!["session-".Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bodies[index])), r.BodySha256);
        });
        Assert.Equal(count, records.Select(r => r.SessionId).Distinct(StringComparer.Ordinal).Count());
    }
}
