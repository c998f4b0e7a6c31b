using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Storage.Sqlite;

namespace Airlock.FunctionalTests.Audit;

/// <summary>
/// Crash harness: a real <c>airlock serve</c> process (the built CLI) under load is killed with SIGKILL; every request
/// that received a response must have its audit record, and the chain must verify. This holds because the request
/// pipeline holds back each answer's last bytes until its record is durable (in the audit journal, recovered at the
/// restart, or committed by <see cref="Gateway.Audit.AuditWriter.WriteDurableAsync"/>); without that hold it found 111
/// lost records out of 5,138 answered requests.
/// Timeouts are generous: the machine running the suite may be heavily loaded.
/// </summary>
public sealed class AuditCrashTests
{
    [Fact]
    public async Task Every_answered_request_survives_a_kill_9_and_the_chain_verifies()
    {
        using var temp = new TempDataDirectory("airlock-crash-");
        var work = temp.Path;
        Directory.CreateDirectory(work);
        var key = JsonDocument.Parse(await BuiltCli.RunAsync(work, "keys", "create", "--user", "ada", "--json")).RootElement.GetProperty("key").GetString()!;
        var port = BuiltCli.FreePort();
        using var gateway = BuiltCli.Start(work, "serve", "--urls", $"http://127.0.0.1:{port}");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        await BuiltCli.WaitHealthyAsync(http, gateway);

        var answered = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var request = BuiltCli.MessagesRequest(key, maxTokens: 5);
                    using var response = await http.SendAsync(request, stop.Token);
                    await response.Content.ReadAsByteArrayAsync(stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK && response.Headers.TryGetValues("x-airlock-request-id", out var ids))
                    {
                        answered.Add(ids.First());
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
                {
                    // The process died mid-request: that request got no response and is not counted.
                }
            }
        })).ToArray();
        // Kill once the load is well under way (a loaded machine answers slowly: wait for answers, not a fixed time).
        var loadDeadline = DateTime.UtcNow.AddSeconds(120);
        while (answered.Count < 300 && DateTime.UtcNow < loadDeadline)
        {
            await Task.Delay(100);
        }
        gateway.Kill(entireProcessTree: true); // SIGKILL: no shutdown, no flush
        await stop.CancelAsync();
        await Task.WhenAll(load);
        await gateway.WaitForExitAsync();

        // Restart on the same data directory (SQLite recovers its WAL), serve one more request, stop, then let the
        // CLI verify the chain as an operator would.
        var port2 = BuiltCli.FreePort();
        using (var restarted = BuiltCli.Start(work, "serve", "--urls", $"http://127.0.0.1:{port2}"))
        {
            using var http2 = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port2}"), Timeout = TimeSpan.FromSeconds(60) };
            await BuiltCli.WaitHealthyAsync(http2, restarted);
            using var request = BuiltCli.MessagesRequest(key, "after", maxTokens: 5);
            using var after = await http2.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
            answered.Add(after.Headers.GetValues("x-airlock-request-id").First());
            // A clean stop (SIGTERM) commits what the journal holds; a kill here would leave it to the next start.
            using (System.Diagnostics.Process.Start("kill", ["-TERM", restarted.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            {
            }
            using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await restarted.WaitForExitAsync(bound.Token);
        }
        var verifyOutput = await BuiltCli.RunAsync(work, "audit", "verify");
        Assert.Contains("intact", verifyOutput, StringComparison.OrdinalIgnoreCase);

        using var store = await SqliteStore.OpenAsync(Path.Combine(work, ".airlock"));
        var stored = (await store.QueryAsync(new AuditQuery { Limit = int.MaxValue })).Select(r => r.RequestId).ToHashSet(StringComparer.Ordinal);
        var verification = await AuditChainVerifier.VerifyStoreAsync(store, trustedKey: null);

        Assert.NotEmpty(answered);
        var missing = answered.Where(id => !stored.Contains(id)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {answered.Count} answered request(s) have no audit record, e.g. {missing.FirstOrDefault()}");
        Assert.True(verification.Intact, verification.Fault?.ToString());
    }
}
