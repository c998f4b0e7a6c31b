using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Gateway.Audit;
using Airlock.Storage.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Airlock.FunctionalTests.Audit;

/// <summary>
/// The audit journal (<c>audit.durable: journal</c>): a forwarded request's begin entry is fsync'd while the upstream works
/// and the answer's last bytes wait for it; recovery at startup puts what a crash left into the trail; segments rotate
/// and go once settled. Real SQLite, real Kestrel, and a real <c>airlock serve</c> killed with SIGKILL.
/// </summary>
public sealed class AuditJournalTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(3);

    private static AuditRecord Record(string id, AuditOutcome outcome = AuditOutcome.Ok, int status = 200) => new()
    {
        RequestId = id,
        Time = DateTimeOffset.UtcNow,
        Door = "messages",
        Operation = "messages",
        KeyId = "AbCdEfGhIjKl",
        User = "ada",
        Model = "claude-opus-5-5",
        Upstream = "main",
        Status = status,
        Outcome = outcome,
        ErrorType = outcome == AuditOutcome.Interrupted ? AuditJournal.GatewayStopped : null,
        BodySha256 = new string('a', 64),
    };

    private static AuditRecord Begin(string id) => Record(id, AuditOutcome.Interrupted, status: 0);

    [Fact]
    public async Task Recovery_adds_final_records_and_interrupted_begins_skips_stored_ones_and_deletes_the_segments()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "airlock-journal-" + Guid.NewGuid().ToString("N"));
        var directory = Path.Combine(dataDir, AuditJournal.DirectoryName);
        try
        {
            using var store = await SqliteStore.OpenAsync(dataDir);
            // A run that died: "done" answered (final entry), "cut" was with the upstream (begin only), "stored" was committed.
            var journal = new AuditJournal(directory, NullLogger.Instance);
            var done = journal.Begin(Begin("done"))!;
            var cut = journal.Begin(Begin("cut"))!;
            var stored = journal.Begin(Begin("stored"))!;
            await Task.WhenAll(done.Durable, cut.Durable, stored.Durable).WaitAsync(Generous);
            Assert.True(journal.TryWriteFinal(done, Record("done")));
            Assert.True(journal.TryWriteFinal(stored, Record("stored")));
            await store.AppendAsync([Record("stored")]);
            journal.Dispose(); // nothing settled: the segment stays, as after a crash
            var segments = Directory.GetFiles(directory);
            Assert.Single(segments);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(segments[0]));
            }

            var result = await AuditJournal.RecoverAsync(directory, store, spool: null, spoolOnFailure: false, NullLogger.Instance);
            var again = await AuditJournal.RecoverAsync(directory, store, spool: null, spoolOnFailure: false, NullLogger.Instance);

            var trail = (await store.QueryAsync(new AuditQuery { Limit = 100, OldestFirst = true })).ToDictionary(r => r.RequestId);
            Assert.Equal(new JournalRecovery(1, 3, 2, 1, 0), result);
            Assert.Equal(new JournalRecovery(0, 0, 0, 0, 0), again);
            Assert.Equal(3, trail.Count);
            Assert.Equal(AuditOutcome.Ok, trail["done"].Outcome);
            Assert.Equal(200, trail["done"].Status);
            Assert.Equal(AuditOutcome.Interrupted, trail["cut"].Outcome);
            Assert.Equal(AuditJournal.GatewayStopped, trail["cut"].ErrorType);
            Assert.Equal(new string('a', 64), trail["cut"].BodySha256);
            Assert.Empty(Directory.GetFiles(directory));
            Assert.True((await AuditChainVerifier.VerifyStoreAsync(store, trustedKey: null)).Intact);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task Recovery_queues_behind_an_earlier_runs_spool_and_keeps_the_segments_while_the_spool_is_unreadable()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "airlock-journal-" + Guid.NewGuid().ToString("N"));
        var directory = Path.Combine(dataDir, AuditJournal.DirectoryName);
        try
        {
            using var store = await SqliteStore.OpenAsync(dataDir);
            var journal = new AuditJournal(directory, NullLogger.Instance);
            var cut = journal.Begin(Begin("cut"))!;
            await cut.Durable.WaitAsync(Generous);
            journal.Dispose();
            var spool = new AuditSpool(Path.Combine(dataDir, AuditSpool.FileName), 1 << 20);

            // Unreadable spool: its ids are unknown, so nothing is recovered and the segment waits.
            await File.WriteAllTextAsync(spool.Path, "{not a record\n");
            var refused = await AuditJournal.RecoverAsync(directory, store, spool, spoolOnFailure: true, NullLogger.Instance);
            Assert.Equal(0, refused.Recovered);
            Assert.Single(Directory.GetFiles(directory));
            Assert.Empty(await store.QueryAsync(new AuditQuery { Limit = 10 }));

            // A readable spool holding an older record: the recovered one goes behind it, into the spool, not the store.
            File.Delete(spool.Path);
            Assert.True(spool.TryAppend([Record("older")]));
            var result = await AuditJournal.RecoverAsync(directory, store, spool, spoolOnFailure: false, NullLogger.Instance);
            Assert.Equal(new JournalRecovery(1, 1, 1, 1, 0), result);
            Assert.Equal(["older", "cut"], spool.ReadAll().Select(r => r.RequestId));
            Assert.Empty(await store.QueryAsync(new AuditQuery { Limit = 10 }));
            Assert.Empty(Directory.GetFiles(directory));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task Segments_rotate_and_are_deleted_once_their_requests_are_committed_so_the_journal_stays_bounded()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "airlock-journal-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var store = await SqliteStore.OpenAsync(dataDir);
            const long SegmentBytes = 16 * 1024;
            var journal = new AuditJournal(Path.Combine(dataDir, AuditJournal.DirectoryName), NullLogger.Instance, SegmentBytes);
            long largest = 0;
            await using (var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance, journal: journal))
            {
                for (var i = 0; i < 400; i++)
                {
                    var id = "r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    var ticket = journal.Begin(Begin(id))!;
                    await ticket.Durable.WaitAsync(Generous);
                    Assert.True(journal.TryWriteFinal(ticket, Record(id)));
                    await writer.EnqueueAsync(Record(id), ticket);
                    if (i % 50 == 49)
                    {
                        await writer.FlushAsync().WaitAsync(Generous);
                        largest = Math.Max(largest, journal.BytesOnDisk);
                    }
                }
                await writer.FlushAsync().WaitAsync(Generous);
                // 400 requests wrote ~600 KB of entries: most segments are gone; what is left is about the open segment.
                Assert.True(journal.SegmentsDeleted >= 10, $"{journal.SegmentsDeleted} segments deleted");
                // Each segment is zero-filled a stretch ahead of its entries: a file is at most about twice SegmentBytes.
                Assert.True(largest <= 6 * SegmentBytes, $"journal held {largest} bytes");
            }
            // The writer disposed the journal after its last commit: everything settled, nothing left to recover.
            Assert.Empty(Directory.GetFiles(Path.Combine(dataDir, AuditJournal.DirectoryName)));
            Assert.Equal(400, (await store.QueryAsync(new AuditQuery { Limit = 1000 })).Count);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task The_last_bytes_wait_until_the_begin_entry_is_on_disk()
    {
        using var fsync = new ManualResetEventSlim(false);
        var syncs = 0;
        var armed = false;
        await using var harness = await GatewayHarness.StartAsync(output,
            c => c with { Audit = c.Audit with { Durability = Airlock.Core.Configuration.AuditDurability.Journal } }, journalFlushToDisk: handle =>
        {
            if (Volatile.Read(ref armed))
            {
                Interlocked.Increment(ref syncs);
                fsync.Wait(Generous);
            }
            RandomAccess.FlushToDisk(handle);
        });
        try
        {
            // From here on the journal's syncs (the request's begin entry is the first) wait for the test.
            Volatile.Write(ref armed, true);
            harness.Upstream.Enqueue(UpstreamReply.Text("held until the journal is synced"));
            using var response = await harness.SendStreamingAsync(harness.Messages(
                """{"model":"claude-opus-5-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = response.Content.ReadAsStringAsync();
            // State, not time: the upstream has answered completely and the journal's writer is inside its fsync.
            await harness.Upstream.WaitForRequestsAsync(1, Generous);
            using (var bound = new CancellationTokenSource(Generous))
            {
                while (Volatile.Read(ref syncs) == 0)
                {
                    await Task.Delay(10, bound.Token);
                }
            }
            await Task.Delay(500);
            Assert.False(body.IsCompleted, "the answer completed while its begin entry was not on disk");

            fsync.Set();
            var text = await body.WaitAsync(Generous);
            Assert.Contains("message_stop", text, StringComparison.Ordinal);
            var record = await harness.SingleAuditAsync();
            Assert.Equal(AuditOutcome.Ok, record.Outcome);
            Assert.Matches("^[0-9a-f]{64}$", record.BodySha256!);
        }
        finally
        {
            fsync.Set();
        }
    }

    [Fact]
    public async Task A_kill_9_mid_stream_leaves_an_interrupted_record_and_a_completed_answer_keeps_its_ok_record()
    {
        var work = Path.Combine(Path.GetTempPath(), "airlock-journal-crash-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        await using var upstream = await ScriptedUpstream.StartAsync();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(work, "airlock.yaml"), $"""
                level: 1
                upstreams:
                  - name: main
                    kind: anthropic
                    url: {upstream.BaseUrl}
                    api_key_env: {GatewayHarness.UpstreamKeyVariable}
                routes:
                  - models: "*"
                    upstream: main
                audit:
                  durable: journal
                """);
            var key = JsonDocument.Parse(await BuiltCli.RunAsync(work, "keys", "create", "--user", "ada", "--json")).RootElement.GetProperty("key").GetString()!;

            // 1. A slow stream, killed once its first bytes arrived: the begin entry is all the trail can have.
            var slowId = await WithServeAsync(work, upstream, async (http, serve) =>
            {
                upstream.Enqueue(UpstreamReply.Text(string.Join(' ', Enumerable.Repeat("slow", 200))).WithEventDelay(TimeSpan.FromMilliseconds(200)));
                using var response = await http.SendAsync(Request(key, stream: true), HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var stream = await response.Content.ReadAsStreamAsync();
                Assert.True(await stream.ReadAsync(new byte[256]) > 0);
                var id = response.Headers.GetValues("x-airlock-request-id").Single();
                // State, not time: the begin entry is in the journal (written by its thread while the upstream streams).
                using (var bound = new CancellationTokenSource(Generous))
                {
                    while (!JournalMentions(work, id))
                    {
                        await Task.Delay(20, bound.Token);
                    }
                }
                serve.Kill(entireProcessTree: true); // SIGKILL mid-stream
                await serve.WaitForExitAsync();
                return id;
            });

            // 2. After a restart (recovery), a completed answer followed at once by SIGKILL.
            var doneId = await WithServeAsync(work, upstream, async (http, serve) =>
            {
                upstream.Enqueue(UpstreamReply.Text("complete answer"));
                using var response = await http.SendAsync(Request(key, stream: true));
                var text = await response.Content.ReadAsStringAsync();
                serve.Kill(entireProcessTree: true);
                await serve.WaitForExitAsync();
                Assert.Contains("message_stop", text, StringComparison.Ordinal);
                return response.Headers.GetValues("x-airlock-request-id").Single();
            });

            // 3. One more start recovers the second run's journal; then the trail is read as an operator would.
            await WithServeAsync(work, upstream, (_, serve) =>
            {
                serve.Kill(entireProcessTree: true);
                return serve.WaitForExitAsync().ContinueWith(_ => "", TaskScheduler.Default);
            });
            var trail = JsonDocument.Parse(await BuiltCli.RunAsync(work, "audit", "list", "--json")).RootElement.EnumerateArray().ToList();
            var slow = Assert.Single(trail, r => r.GetProperty("request_id").GetString() == slowId);
            var done = Assert.Single(trail, r => r.GetProperty("request_id").GetString() == doneId);
            Assert.Equal("interrupted", slow.GetProperty("outcome").GetString());
            Assert.Equal(AuditJournal.GatewayStopped, slow.GetProperty("error_type").GetString());
            Assert.Equal("main", slow.GetProperty("upstream").GetString());
            Assert.Equal("ok", done.GetProperty("outcome").GetString());
            Assert.Equal(200, done.GetProperty("status").GetInt32());
            var interrupted = JsonDocument.Parse(await BuiltCli.RunAsync(work, "audit", "list", "--json", "--outcome", "interrupted")).RootElement;
            Assert.Equal([slowId], interrupted.EnumerateArray().Select(r => r.GetProperty("request_id").GetString()));
            Assert.Contains("intact", await BuiltCli.RunAsync(work, "audit", "verify"), StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(work, recursive: true);
        }
    }

    private static bool JournalMentions(string work, string requestId)
    {
        var directory = Path.Combine(work, ".airlock", AuditJournal.DirectoryName);
        return Directory.Exists(directory) && Directory.EnumerateFiles(directory).Any(file =>
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Contains(requestId, StringComparison.Ordinal);
        });
    }

    private static HttpRequestMessage Request(string key, bool stream)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent($$"""{"model":"claude-opus-5-5","max_tokens":64,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", key);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return request;
    }

    /// <summary>Runs <c>airlock serve</c> in <paramref name="work"/> (the upstream's key in its environment) until <paramref name="use"/> returns.</summary>
    private async Task<string> WithServeAsync(string work, ScriptedUpstream upstream, Func<HttpClient, Process, Task<string>> use)
    {
        var port = BuiltCli.FreePort();
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(BuiltCli.Path);
        foreach (var arg in (string[])["serve", "--urls", $"http://127.0.0.1:{port}"])
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment[GatewayHarness.UpstreamKeyVariable] = upstream.ApiKey;
        info.Environment.Remove("ANTHROPIC_API_KEY");
        var log = new StringBuilder();
        using var serve = Process.Start(info)!;
        serve.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        serve.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        serve.BeginOutputReadLine();
        serve.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = Generous };
            await BuiltCli.WaitHealthyAsync(http, serve, Generous);
            return await use(http, serve);
        }
        finally
        {
            if (!serve.HasExited)
            {
                serve.Kill(entireProcessTree: true);
            }
            await serve.WaitForExitAsync();
            lock (log)
            {
                output.WriteLine(log.ToString());
            }
        }
    }
}
