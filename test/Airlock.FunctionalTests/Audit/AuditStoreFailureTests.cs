using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Gateway.Audit;
using Airlock.Gateway.Hosting;
using Airlock.Testing;

namespace Airlock.FunctionalTests.Audit;

/// <summary>
/// Durability and an audit store that fails (a full disk): answers are held until their record is durable; with
/// <c>audit.on_store_failure: refuse</c> (default) new requests get a 503 in each door's shape and no upstream call;
/// with <c>spool</c> they are served and their records spooled, then replayed in order with a gap record.
/// Generous timeouts: the suite runs on a loaded machine.
/// </summary>
public sealed class AuditStoreFailureTests(ITestOutputHelper output)
{
    // The answer's last bytes wait for the store's commit (audit.durable: commit), which these tests hold with a failing
    // store; the default journal mode waits for the journal instead (AuditJournalTests).
    private static AirlockConfig CommitMode(AirlockConfig config) => config with { Audit = config.Audit with { Durability = AuditDurability.Commit } };

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_streamed_answer_is_completed_only_once_its_record_is_durable()
    {
        FailingAuditStore? failing = null;
        await using var harness = await GatewayHarness.StartAsync(output, CommitMode, wrapAuditStore: s => failing = new FailingAuditStore(s));
        failing!.Failing = true;
        try
        {
            var names = new List<string>();
            string? requestId = null;
            var exchange = Task.Run(async () =>
            {
                using var request = harness.Messages(RequestBodies.Streaming());
                using var response = await harness.SendStreamingAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                requestId = response.Headers.GetValues("x-airlock-request-id").Single();
                await foreach (var e in SseStreamReader.ReadEventsAsync(await response.Content.ReadAsStreamAsync()))
                {
                    lock (names)
                    {
                        names.Add(e.Name);
                    }
                }
            });

            // The record cannot be committed: the answer's last bytes (message_stop) must not reach the client. (Bytes
            // before them may; the scripted upstream sends its whole stream at once, so here all of it is held.)
            await WaitUntilAsync(() => failing.FailedAppends >= 2, "the writer never tried the failing store");
            await Task.Delay(300);
            Assert.False(exchange.IsCompleted, "the answer was complete although its audit record was not durable");
            lock (names)
            {
                Assert.DoesNotContain("message_stop", names);
            }

            failing.Failing = false;
            await exchange.WaitAsync(Patience);
            Assert.Equal("message_start", names[0]);
            Assert.Equal("message_stop", names[^1]);
            var record = await harness.SingleAuditAsync();
            Assert.Equal(AuditOutcome.Ok, record.Outcome);
            Assert.Equal(requestId, record.RequestId);
        }
        finally
        {
            // A failed assertion must not leave the writer retrying forever (disposal waits for the last record).
            failing.Failing = false;
        }
    }

    [Fact]
    public async Task While_the_store_fails_every_door_refuses_with_its_own_503_and_calls_no_upstream()
    {
        FailingAuditStore? failing = null;
        await using var harness = await GatewayHarness.StartAsync(output, CommitMode, wrapAuditStore: s => failing = new FailingAuditStore(s));
        failing!.Failing = true;
        await MakeUnhealthyAsync(harness);

        using (var messages = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())))
        {
            var message = await ErrorAssert.IsAnthropicErrorAsync(messages, HttpStatusCode.ServiceUnavailable, "overloaded_error");
            Assert.Contains("audit store unavailable", message, StringComparison.Ordinal);
        }
        using (var bedrock = await harness.Client.SendAsync(BedrockRequest(harness)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, bedrock.StatusCode);
            Assert.StartsWith("ServiceUnavailableException", bedrock.Headers.GetValues("x-amzn-ErrorType").Single(), StringComparison.Ordinal);
            using var body = JsonDocument.Parse(await bedrock.Content.ReadAsStringAsync());
            Assert.Contains("audit store unavailable", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        using (var vertex = await harness.Client.SendAsync(VertexRequest(harness)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, vertex.StatusCode);
            using var body = JsonDocument.Parse(await vertex.Content.ReadAsStringAsync());
            var error = body.RootElement.GetProperty("error");
            Assert.Equal(503, error.GetProperty("code").GetInt32());
            Assert.Equal("UNAVAILABLE", error.GetProperty("status").GetString());
            Assert.Contains("audit store unavailable", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Empty(harness.Upstream.Requests);

        // Back: the refusals are recorded (they waited in the queue), and requests are served again.
        failing.Failing = false;
        await WaitUntilAsync(() => harness.Gateway.Audit.Health.Healthy, "the audit writer never recovered");
        using (var after = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())))
        {
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }
        var records = (await harness.AuditAsync(5, Patience)).Where(r => r.Kind == AuditKind.Request).ToList();
        Assert.Equal(4, records.Count);
        Assert.Equal(["messages", "bedrock", "vertex"], records.Take(3).Select(r => r.Door));
        Assert.All(records.Take(3), r =>
        {
            Assert.Equal(503, r.Status);
            Assert.Equal(AuditOutcome.Rejected, r.Outcome);
            Assert.Equal("audit_store_unavailable", r.ErrorType);
        });
        Assert.Equal(AuditOutcome.Ok, records[3].Outcome);
    }

    [Fact]
    public async Task With_spool_requests_are_served_and_their_records_replayed_in_order_with_a_gap_record()
    {
        FailingAuditStore? failing = null;
        await using var harness = await GatewayHarness.StartAsync(output,
            c => c with { Audit = c.Audit with { OnStoreFailure = AuditFailureMode.Spool, Durability = AuditDurability.Commit } },
            wrapAuditStore: s => failing = new FailingAuditStore(s));
        failing!.Failing = true;

        var served = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())).WaitAsync(Patience);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            served.Add(response.Headers.GetValues("x-airlock-request-id").Single());
        }
        var spoolPath = Path.Combine(harness.DataDir, AuditSpool.FileName);
        var spooled = await File.ReadAllLinesAsync(spoolPath);
        Assert.Equal(3, spooled.Length);
        Assert.DoesNotContain(RequestBodies.ContentMarker, await File.ReadAllTextAsync(spoolPath), StringComparison.Ordinal);
        Assert.Equal(3, harness.Gateway.Audit.Spooled);
        Assert.False(harness.Gateway.Audit.Health.Healthy);

        // The store comes back: the writer replays the spool on its own (no new request needed).
        failing.Failing = false;
        var records = await harness.AuditAsync(4, Patience);
        Assert.Equal(served, records.Take(3).Select(r => r.RequestId));
        var gap = records[3];
        Assert.Equal(AuditKind.Admin, gap.Kind);
        Assert.Equal(AdminActions.StoreGap, gap.Operation);
        Assert.StartsWith("spooled=3 ", gap.Detail, StringComparison.Ordinal);
        // The spool is emptied right after the replay commits, so the records can be visible a moment before.
        await WaitUntilAsync(() => new FileInfo(spoolPath).Length == 0 && harness.Gateway.Audit.Health.Healthy, "the spool was never emptied after its replay");

        using (var after = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())))
        {
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }
        records = await harness.AuditAsync(5, Patience);
        Assert.Equal(5, records.Count);
        Assert.Equal(records.Select(r => r.Chain!.Sequence).Order(), records.Select(r => r.Chain!.Sequence));
        var verification = await AuditChainVerifier.VerifyStoreAsync(harness.Gateway.Store, trustedKey: null);
        Assert.True(verification.Intact, verification.Fault?.ToString());
    }

    [Fact]
    public async Task A_full_spool_refuses_new_requests_and_holds_the_one_that_did_not_fit()
    {
        FailingAuditStore? failing = null;
        await using var harness = await GatewayHarness.StartAsync(output,
            c => c with { Audit = c.Audit with { OnStoreFailure = AuditFailureMode.Spool, SpoolMaxBytes = 4096, Durability = AuditDurability.Commit } },
            wrapAuditStore: s => failing = new FailingAuditStore(s));
        failing!.Failing = true;

        var served = new List<string>();
        Task<HttpResponseMessage>? held = null;
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 40 && refused is null; i++)
        {
            var sending = harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming()));
            // The request whose record does not fit fills the spool and waits; one whose record fits completes, however
            // slow the machine. Decide by the writer's state, not by a timer (a loaded CI machine can take seconds).
            while (held is null && !sending.IsCompleted && harness.Gateway.Audit.TakesRecords)
            {
                await Task.WhenAny(sending, Task.Delay(20));
            }
            if (held is null && !sending.IsCompleted)
            {
                held = sending;
                continue;
            }
            // Once one request waits, the next must be answered (refused) without waiting on the store.
            var response = await sending.WaitAsync(Patience);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                refused = response;
                break;
            }
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            served.Add(response.Headers.GetValues("x-airlock-request-id").Single());
            response.Dispose();
        }
        Assert.NotNull(refused);
        Assert.Contains("audit store unavailable", await ErrorAssert.IsAnthropicErrorAsync(refused, HttpStatusCode.ServiceUnavailable, "overloaded_error"),
            StringComparison.Ordinal);
        refused.Dispose();
        Assert.NotNull(held);
        Assert.NotEmpty(served);
        Assert.True(new FileInfo(Path.Combine(harness.DataDir, AuditSpool.FileName)).Length <= 4096);

        failing.Failing = false;
        using (var released = await held.WaitAsync(Patience))
        {
            Assert.Equal(HttpStatusCode.OK, released.StatusCode);
            served.Add(released.Headers.GetValues("x-airlock-request-id").Single());
        }
        var records = await harness.AuditAsync(served.Count + 2, Patience);
        var ids = records.Select(r => r.RequestId).ToHashSet(StringComparer.Ordinal);
        Assert.All(served, id => Assert.Contains(id, ids));
        Assert.Contains(records, r => r.Operation == AdminActions.StoreGap);
        Assert.True((await AuditChainVerifier.VerifyStoreAsync(harness.Gateway.Store, trustedKey: null)).Intact);
    }

    [Fact]
    public async Task Records_left_in_the_spool_by_a_crash_are_replayed_at_start_up_before_new_ones()
    {
        using var temp = new TempDataDirectory("airlock-spool-");
        var dataDir = temp.Path;
        Directory.CreateDirectory(dataDir);
        var left = new AuditSpool(Path.Combine(dataDir, AuditSpool.FileName), 1 << 20);
        Assert.True(left.TryAppend([Spooled("spooled-1"), Spooled("spooled-2")]));
        // A line cut short by the crash (never acknowledged) is ignored.
        await File.AppendAllTextAsync(left.Path, "{\"Kind\":\"request\",\"RequestId\":\"torn");
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { DataDir = dataDir });
        using (var response = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var records = await harness.AuditAsync(4, Patience);
        Assert.Equal(["spooled-1", "spooled-2"], records.Take(2).Select(r => r.RequestId));
        Assert.Equal(AdminActions.StoreGap, records[2].Operation);
        Assert.Equal(AuditKind.Request, records[3].Kind);
        Assert.Equal("messages", records[3].Door);
        Assert.True((await AuditChainVerifier.VerifyStoreAsync(harness.Gateway.Store, trustedKey: null)).Intact);
    }

    [Fact]
    public async Task A_corrupted_database_at_start_up_is_a_clear_error_naming_the_file()
    {
        using var temp = new TempDataDirectory("airlock-corrupt-");
        var dataDir = temp.Path;
        Directory.CreateDirectory(dataDir);
        var database = Path.Combine(dataDir, "airlock.db");
        var garbage = new byte[16 * 1024];
        new Random(7).NextBytes(garbage);
        await File.WriteAllBytesAsync(database, garbage);
        var config = new AirlockConfig { Level = 1, DataDir = dataDir, Upstreams = [], Routes = [], Source = "functional test" };
        var error = await Assert.ThrowsAsync<ConfigurationException>(() => AirlockGateway.StartAsync(config, new GatewayStartOptions { Urls = "http://127.0.0.1:0" }));
        Assert.Contains(database, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a usable SQLite database", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Has the writer fail on a record of its own, so <see cref="AuditWriter.Health"/> reports the failure.</summary>
    private static async Task MakeUnhealthyAsync(GatewayHarness harness)
    {
        await harness.Gateway.Audit.EnqueueAsync(AdminActions.KeyRevoked("probe", "probe", null, DateTimeOffset.UtcNow, "test"));
        await WaitUntilAsync(() => !harness.Gateway.Audit.Health.Healthy, "the audit writer never reported the failing store");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(20);
        }
    }

    private static AuditRecord Spooled(string requestId) => new()
    {
        RequestId = requestId,
        Time = DateTimeOffset.UtcNow,
        Door = "messages",
        Operation = "messages",
        Outcome = AuditOutcome.Ok,
        Status = 200,
        Findings = [new AuditFinding("aws-access-key", "secret", "messages[0].content", "redact", "00ff")],
    };

    private static HttpRequestMessage BedrockRequest(GatewayHarness harness)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/bedrock/model/" + RequestBodies.Model + "/invoke")
        {
            Content = new StringContent("{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        return request;
    }

    private static HttpRequestMessage VertexRequest(GatewayHarness harness)
    {
        var request = new HttpRequestMessage(HttpMethod.Post,
            $"/vertex/v1/projects/p/locations/{GatewayHarness.VertexRegion}/publishers/anthropic/models/{RequestBodies.Model}:rawPredict")
        {
            Content = new StringContent("{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        return request;
    }
}
