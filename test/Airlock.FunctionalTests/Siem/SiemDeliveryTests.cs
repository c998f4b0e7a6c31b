using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;
using Xunit.Abstractions;

namespace Airlock.FunctionalTests.Siem;

/// <summary>SIEM delivery from a real gateway to real loopback receivers: webhook, syslog over UDP/TCP/TLS, OTLP logs; failing and hanging sinks.</summary>
public sealed partial class SiemDeliveryTests(ITestOutputHelper output)
{
    private const string Secret = "test-webhook-secret-0123456789";
    private const string SecretVariable = "AIRLOCK_TEST_SIEM_SECRET";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Webhook_batches_are_hmac_signed_and_carry_every_committed_record()
    {
        await using var receiver = await HttpReceiver.StartAsync(Secret);
        await using var harness = await StartAsync(receiver.BaseUri, SiemSinkKind.Webhook);
        var ids = await SendAsync(harness, 5);

        await receiver.WaitForAsync(docs => ids.IsSubsetOf(RequestIds(docs)), Patience, "the five request records");
        Assert.Equal(0, receiver.Rejected);
        var record = Records(receiver.Accepted).First(r => r.GetProperty("request_id").GetString() == ids.First());
        Assert.Equal("request", record.GetProperty("kind").GetString());
        Assert.Equal(GatewayHarness.DeveloperUser, record.GetProperty("user").GetString());
        Assert.Equal("ok", record.GetProperty("outcome").GetString());
        Assert.Equal("airlock", receiver.Accepted[0].RootElement.GetProperty("source").GetString());
        // Metadata only: the prompt never leaves the gateway.
        Assert.DoesNotContain(RequestBodies.ContentMarker, string.Join("", receiver.Accepted.Select(d => d.RootElement.GetRawText())), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_webhook_secret_is_refused_by_the_receiver_and_retried_not_dropped()
    {
        await using var receiver = await HttpReceiver.StartAsync("a-different-secret-0123456789");
        await using var harness = await StartAsync(receiver.BaseUri, SiemSinkKind.Webhook);
        await SendAsync(harness, 1);
        var deadline = DateTime.UtcNow + Patience;
        while (receiver.Rejected < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.True(receiver.Rejected >= 2, $"expected retries, saw {receiver.Rejected} rejected attempt(s)");
        Assert.Empty(receiver.Accepted);
        var status = Assert.Single(harness.Gateway.Siem!.Status);
        Assert.Equal(0, status.Delivered);
        Assert.Contains("401", status.LastError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SyslogTransport.Udp, SyslogPayload.Json)]
    [InlineData(SyslogTransport.Tcp, SyslogPayload.Json)]
    [InlineData(SyslogTransport.Tcp, SyslogPayload.Cef)]
    [InlineData(SyslogTransport.Tls, SyslogPayload.Cef)]
    [InlineData(SyslogTransport.Tls, SyslogPayload.Json)]
    public async Task Syslog_messages_are_rfc5424_with_structured_data_over_each_transport(SyslogTransport transport, SyslogPayload payload)
    {
        var pem = Path.Combine(Path.GetTempPath(), "airlock-syslog-ca-" + Guid.NewGuid().ToString("N") + ".pem");
        await using var listener = transport switch
        {
            SyslogTransport.Udp => SyslogListener.StartUdp(),
            SyslogTransport.Tls => SyslogListener.StartTcp(SyslogListener.SelfSignedLocalhost(pem)),
            _ => SyslogListener.StartTcp(),
        };
        try
        {
            await using var harness = await GatewayHarness.StartAsync(output, config => config with
            {
                Siem = new SiemConfig
                {
                    Sinks = [new SiemSinkConfig
                    {
                        Name = "syslog",
                        Kind = SiemSinkKind.Syslog,
                        Host = "localhost",
                        Port = listener.Port,
                        Transport = transport,
                        Payload = payload,
                        CaFile = transport == SyslogTransport.Tls ? pem : null,
                    }],
                    RetryInitial = TimeSpan.FromMilliseconds(50),
                    RetryMax = TimeSpan.FromMilliseconds(500),
                },
            });
            var ids = await SendAsync(harness, 3);
            await listener.WaitForAsync(messages => ids.All(id => messages.Any(m => m.Contains($"request_id=\"{id}\"", StringComparison.Ordinal))),
                Patience, $"{transport} messages");
            Assert.Empty(listener.Errors);
            var message = listener.Messages.First(m => m.Contains($"request_id=\"{ids.First()}\"", StringComparison.Ordinal));
            var match = SyslogLine().Match(message);
            Assert.True(match.Success, message);
            Assert.Equal(13 * 8 + 6, int.Parse(match.Groups["pri"].Value, System.Globalization.CultureInfo.InvariantCulture)); // log audit, informational
            Assert.Equal("request", match.Groups["msgid"].Value);
            Assert.Contains("[airlock@32473 kind=\"request\"", message, StringComparison.Ordinal);
            Assert.Contains($"user=\"{GatewayHarness.DeveloperUser}\"", message, StringComparison.Ordinal);
            Assert.Contains("outcome=\"ok\"", message, StringComparison.Ordinal);
            var msg = match.Groups["msg"].Value;
            if (payload == SyslogPayload.Cef)
            {
                Assert.StartsWith("CEF:0|Airlock|Airlock Gateway|1|request:ok|request messages ok|1|", msg, StringComparison.Ordinal);
                Assert.Contains($"externalId={ids.First()}", msg, StringComparison.Ordinal);
                Assert.Contains("suser=ada", msg, StringComparison.Ordinal);
            }
            else
            {
                using var json = JsonDocument.Parse(msg);
                Assert.Equal(ids.First(), json.RootElement.GetProperty("request_id").GetString());
            }
        }
        finally
        {
            File.Delete(pem);
        }
    }

    [Fact]
    public async Task Otlp_logs_arrive_in_the_otlp_json_shape()
    {
        await using var receiver = await HttpReceiver.StartAsync();
        await using var harness = await StartAsync(new Uri(receiver.BaseUri, "/v1/logs"), SiemSinkKind.Otlp);
        var ids = await SendAsync(harness, 2);
        await receiver.WaitForAsync(docs => ids.IsSubsetOf(OtlpRequestIds(docs)), Patience, "OTLP log records");
        var resourceLogs = receiver.Accepted[0].RootElement.GetProperty("resourceLogs")[0];
        Assert.Equal("service.name", resourceLogs.GetProperty("resource").GetProperty("attributes")[0].GetProperty("key").GetString());
        var scope = resourceLogs.GetProperty("scopeLogs")[0];
        Assert.Equal("airlock.audit", scope.GetProperty("scope").GetProperty("name").GetString());
        var log = scope.GetProperty("logRecords").EnumerateArray().First(l => Attribute(l, "airlock.request_id") == ids.First());
        Assert.True(ulong.Parse(log.GetProperty("timeUnixNano").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > 1_700_000_000_000_000_000UL);
        Assert.Equal(9, log.GetProperty("severityNumber").GetInt32());
        Assert.Equal("INFO", log.GetProperty("severityText").GetString());
        Assert.StartsWith("request messages ok", log.GetProperty("body").GetProperty("stringValue").GetString(), StringComparison.Ordinal);
        var status = log.GetProperty("attributes").EnumerateArray().First(a => a.GetProperty("key").GetString() == "airlock.status");
        Assert.Equal("200", status.GetProperty("value").GetProperty("intValue").GetString());
    }

    [Fact]
    public async Task A_hanging_sink_neither_stalls_requests_nor_grows_memory_and_everything_arrives_after_recovery()
    {
        await using var receiver = await HttpReceiver.StartAsync(Secret);
        receiver.Mode = ReceiverMode.Hang;
        await using var harness = await StartAsync(receiver.BaseUri, SiemSinkKind.Webhook, queueCapacity: 4, timeout: TimeSpan.FromSeconds(1));
        var watch = Stopwatch.StartNew();
        var ids = await SendAsync(harness, 30);
        var elapsed = watch.Elapsed;
        output.WriteLine($"30 requests with a hanging sink: {elapsed.TotalMilliseconds:0} ms");
        // The sink's 1 s timeout and its backoff never reach the request path.
        Assert.True(elapsed < TimeSpan.FromSeconds(20), $"requests took {elapsed}");
        await harness.AuditAsync(30);
        await WaitAsync(() => harness.Gateway.Siem!.Status[0].Spilled > 0, "records spilled to disk");
        var status = harness.Gateway.Siem!.Status[0];
        Assert.True(status.InMemory <= 4, $"memory queue holds {status.InMemory} records, bound is 4");
        Assert.Equal(0, status.Dropped);
        Assert.True(receiver.Attempts >= 1);

        receiver.Mode = ReceiverMode.Ok;
        await receiver.WaitForAsync(docs => ids.IsSubsetOf(RequestIds(docs)), Patience, "every record after recovery");
        await WaitAsync(() => harness.Gateway.Siem!.Status[0].Spilled == 0, "spill drained");
    }

    [Fact]
    public async Task A_500_sink_whose_spill_overflows_gets_a_gap_record_with_the_count_and_every_other_record()
    {
        await using var receiver = await HttpReceiver.StartAsync(Secret);
        receiver.Mode = ReceiverMode.Fail500;
        await using var harness = await StartAsync(receiver.BaseUri, SiemSinkKind.Webhook, queueCapacity: 2, spillMaxBytes: 6_000);
        var ids = await SendAsync(harness, 25);
        await harness.AuditAsync(25);
        await WaitAsync(() => harness.Gateway.Siem!.Status[0].Dropped > 0, "records past the spill bound");
        await WaitAsync(() => receiver.Attempts >= 2, "a retry of the 500 sink");

        receiver.Mode = ReceiverMode.Ok;
        await receiver.WaitForAsync(docs => Records(docs).Any(r => r.GetProperty("operation").GetString() == "siem.gap"), Patience, "the gap notice");
        // Wait for the queue to settle: every record is either delivered or counted in a gap.
        await receiver.WaitForAsync(docs => ids.Count(id => RequestIds(docs).Contains(id)) + CountedDrops(docs) >= ids.Count, Patience, "delivered + counted = sent");
        var delivered = ids.Count(id => RequestIds(receiver.Accepted).Contains(id));
        var dropped = harness.Gateway.Siem!.Status[0].Dropped;
        output.WriteLine($"sent {ids.Count}, delivered {delivered}, dropped {dropped}, counted in gaps {CountedDrops(receiver.Accepted)}");
        Assert.True(delivered < ids.Count, "the spill bound must have been passed");
        Assert.Equal(ids.Count, delivered + CountedDrops(receiver.Accepted));

        // The gap is in the trail itself, as an admin record.
        var trail = await harness.Gateway.Store.QueryAsync(new AuditQuery { Kind = AuditKind.Admin, Limit = 100 });
        var gap = Assert.Single(trail, r => r.Operation == "siem.gap" && r.Detail!.Contains("sink=soc", StringComparison.Ordinal));
        Assert.Contains("reason=queue_and_spill_full", gap.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Records_spilled_when_the_gateway_stops_are_delivered_by_the_next_start()
    {
        var spillDir = Path.Combine(Path.GetTempPath(), "airlock-spill-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var receiver = await HttpReceiver.StartAsync(Secret);
            receiver.Mode = ReceiverMode.Fail500;
            HashSet<string> ids;
            await using (var first = await StartAsync(receiver.BaseUri, SiemSinkKind.Webhook, spillDir: spillDir))
            {
                ids = await SendAsync(first, 6);
                await first.AuditAsync(6);
                await WaitAsync(() => receiver.Attempts >= 1, "a failed delivery");
            }
            // The first gateway is gone; its undelivered records are on disk.
            var spill = Path.Combine(spillDir, "soc.spill.jsonl");
            Assert.True(new FileInfo(spill).Length > 0, "undelivered records are spilled at shutdown");
            Assert.DoesNotContain(RequestBodies.ContentMarker, await File.ReadAllTextAsync(spill), StringComparison.Ordinal);

            receiver.Mode = ReceiverMode.Ok;
            await using var second = await StartAsync(receiver.BaseUri, SiemSinkKind.Webhook, spillDir: spillDir);
            await receiver.WaitForAsync(docs => ids.IsSubsetOf(RequestIds(docs)), Patience, "the first run's records, from the spill file");
            await WaitAsync(() => second.Gateway.Siem!.Status[0].Spilled == 0, "spill drained");
            Assert.Equal(0, new FileInfo(spill).Length);
        }
        finally
        {
            Directory.Delete(spillDir, recursive: true);
        }
    }

    /// <summary>Records counted in the gap notices received (each gap record once, however often it was delivered).</summary>
    private static long CountedDrops(IEnumerable<JsonDocument> docs) =>
        Records(docs).Where(r => r.GetProperty("operation").GetString() == "siem.gap")
            .DistinctBy(r => r.GetProperty("request_id").GetString())
            .Sum(g => long.Parse(GapCount().Match(g.GetProperty("detail").GetString()!).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    private async Task<GatewayHarness> StartAsync(Uri url, SiemSinkKind kind, int queueCapacity = 1000, long spillMaxBytes = 16 * 1024 * 1024, TimeSpan? timeout = null,
        string? spillDir = null) =>
        await GatewayHarness.StartAsync(output, config => config with
        {
            Siem = new SiemConfig
            {
                Sinks = [new SiemSinkConfig
                {
                    Name = "soc",
                    Kind = kind,
                    Url = url,
                    SecretEnv = kind == SiemSinkKind.Webhook ? SecretVariable : null,
                    Timeout = timeout ?? TimeSpan.FromSeconds(5),
                    BatchSize = 10,
                }],
                QueueCapacity = queueCapacity,
                SpillMaxBytes = spillMaxBytes,
                SpillDir = spillDir,
                RetryInitial = TimeSpan.FromMilliseconds(50),
                RetryMax = TimeSpan.FromMilliseconds(400),
            },
        }, environment: name => name == SecretVariable ? Secret : null);

    private static async Task<HashSet<string>> SendAsync(GatewayHarness harness, int count)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            using var response = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming()));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            ids.Add(response.Headers.GetValues("x-airlock-request-id").Single());
        }
        return ids;
    }

    private static IEnumerable<JsonElement> Records(IEnumerable<JsonDocument> docs) =>
        docs.SelectMany(d => d.RootElement.GetProperty("records").EnumerateArray());

    private static HashSet<string> RequestIds(IEnumerable<JsonDocument> docs) =>
        Records(docs).Select(r => r.GetProperty("request_id").GetString()!).ToHashSet(StringComparer.Ordinal);

    private static HashSet<string> OtlpRequestIds(IEnumerable<JsonDocument> docs) =>
        docs.SelectMany(d => d.RootElement.GetProperty("resourceLogs").EnumerateArray())
            .SelectMany(r => r.GetProperty("scopeLogs").EnumerateArray())
            .SelectMany(s => s.GetProperty("logRecords").EnumerateArray())
            .Select(l => Attribute(l, "airlock.request_id")!)
            .ToHashSet(StringComparer.Ordinal);

    private static string? Attribute(JsonElement log, string key) =>
        log.GetProperty("attributes").EnumerateArray().FirstOrDefault(a => a.GetProperty("key").GetString() == key) is { ValueKind: JsonValueKind.Object } a
            ? a.GetProperty("value").GetProperty("stringValue").GetString()
            : null;

    private static async Task WaitAsync(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for: {what}");
            await Task.Delay(50);
        }
    }

    // RFC 5424 §6: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA SP MSG
    [GeneratedRegex(@"^<(?<pri>\d{1,3})>1 (?<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (?<host>\S+) airlock (?<proc>\d+) (?<msgid>\S+) (?<sd>\[airlock@32473(?: [a-z_0-9]+=""(?:[^""\\\]]|\\.)*"")+\]) (?<msg>.*)$", RegexOptions.Singleline)]
    private static partial Regex SyslogLine();

    [GeneratedRegex(@"dropped=(\d+)")]
    private static partial Regex GapCount();
}
