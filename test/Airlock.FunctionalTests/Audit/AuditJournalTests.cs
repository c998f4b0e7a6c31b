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
/// The audit journal (the default with SQLite; <c>audit.journal.fsync: true</c> adds fsync'd begin entries): the
/// answer's last bytes wait for the final record's journal write; recovery at startup puts what a crash left into the
/// trail, taking over only the journals of gateways that are gone; segments rotate and go once settled. Real SQLite, real
/// Kestrel, and a real <c>airlock serve</c> killed with SIGKILL.
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
        using var temp = new TempDataDirectory("airlock-journal-");
        var dataDir = temp.Path;
        var root = Path.Combine(dataDir, AuditJournal.DirectoryName);
        using var store = await SqliteStore.OpenAsync(dataDir);
        // A run that died: "done" answered (final entry), "cut" was with the upstream (begin only), "stored" was committed.
        var journal = AuditJournal.OpenInstance(root, NullLogger.Instance);
        var directory = journal.Directory;
        var done = journal.Begin(Begin("done"))!;
        var cut = journal.Begin(Begin("cut"))!;
        var stored = journal.Begin(Begin("stored"))!;
        await Task.WhenAll(done.Durable, cut.Durable, stored.Durable).WaitAsync(Generous);
        Assert.True(journal.TryWriteFinal(done, Record("done")));
        Assert.True(journal.TryWriteFinal(stored, Record("stored")));
        await store.AppendAsync([Record("stored")]);
        journal.Dispose(); // nothing settled: the segment stays, as after a crash
        var segments = Directory.GetFiles(directory, "journal-*");
        Assert.Single(segments);
        Assert.True(File.Exists(Path.Combine(directory, AuditJournal.LockFileName)));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(segments[0]));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(root));
        }
        // What an audit row holds, and no chain link.
        var text = await File.ReadAllTextAsync(segments[0]);
        Assert.DoesNotContain("\"chain\"", text, StringComparison.Ordinal);

        var result = await AuditJournal.RecoverAsync(root, store, spool: null, spoolOnFailure: false, NullLogger.Instance);
        var again = await AuditJournal.RecoverAsync(root, store, spool: null, spoolOnFailure: false, NullLogger.Instance);

        var trail = (await store.QueryAsync(new AuditQuery { Limit = 100, OldestFirst = true })).ToDictionary(r => r.RequestId);
        Assert.Equal(new JournalRecovery(1, 3, 2, 1, 0) { Directories = 1 }, result);
        Assert.Equal(JournalRecovery.None, again);
        Assert.Equal(3, trail.Count);
        Assert.Equal(AuditOutcome.Ok, trail["done"].Outcome);
        Assert.Equal(200, trail["done"].Status);
        Assert.Equal(AuditOutcome.Interrupted, trail["cut"].Outcome);
        Assert.Equal(AuditJournal.GatewayStopped, trail["cut"].ErrorType);
        Assert.Equal(new string('a', 64), trail["cut"].BodySha256);
        Assert.False(Directory.Exists(directory), "the stopped gateway's journal directory was taken over and removed");
        Assert.True((await AuditChainVerifier.VerifyStoreAsync(store, trustedKey: null)).Intact);
    }

    [Fact]
    public async Task Recovery_queues_behind_an_earlier_runs_spool_and_keeps_the_segments_while_the_spool_is_unreadable()
    {
        using var temp = new TempDataDirectory("airlock-journal-");
        var dataDir = temp.Path;
        var root = Path.Combine(dataDir, AuditJournal.DirectoryName);
        using var store = await SqliteStore.OpenAsync(dataDir);
        var journal = AuditJournal.OpenInstance(root, NullLogger.Instance);
        var directory = journal.Directory;
        var cut = journal.Begin(Begin("cut"))!;
        await cut.Durable.WaitAsync(Generous);
        journal.Dispose();
        var spool = new AuditSpool(Path.Combine(dataDir, AuditSpool.FileName), 1 << 20);

        // Unreadable spool: its ids are unknown, so nothing is recovered and the segment waits.
        await File.WriteAllTextAsync(spool.Path, "{not a record\n");
        var refused = await AuditJournal.RecoverAsync(root, store, spool, spoolOnFailure: true, NullLogger.Instance);
        Assert.Equal(0, refused.Recovered);
        Assert.True(refused.Kept);
        Assert.Single(Directory.GetFiles(directory, "journal-*"));
        Assert.Empty(await store.QueryAsync(new AuditQuery { Limit = 10 }));

        // A readable spool holding an older record: the recovered one goes behind it, into the spool, not the store.
        File.Delete(spool.Path);
        Assert.True(spool.TryAppend([Record("older")]));
        var result = await AuditJournal.RecoverAsync(root, store, spool, spoolOnFailure: false, NullLogger.Instance);
        Assert.Equal(new JournalRecovery(1, 1, 1, 1, 0) { Directories = 1 }, result);
        Assert.Equal(["older", "cut"], spool.ReadAll().Select(r => r.RequestId));
        Assert.Empty(await store.QueryAsync(new AuditQuery { Limit = 10 }));
        Assert.False(Directory.Exists(directory));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Segments_rotate_and_are_deleted_once_their_requests_are_committed_so_the_journal_stays_bounded(bool fsync)
    {
        using var temp = new TempDataDirectory("airlock-journal-");
        var dataDir = temp.Path;
        using var store = await SqliteStore.OpenAsync(dataDir);
        const long SegmentBytes = 16 * 1024;
        var journal = AuditJournal.OpenInstance(Path.Combine(dataDir, AuditJournal.DirectoryName), NullLogger.Instance,
            new AuditJournalOptions { SegmentBytes = SegmentBytes, Fsync = fsync });
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
                    if (!fsync)
                    {
                        // A flush returns once the records' entries are released: only the open segment is left
                        // (with fsync a rotation's close runs on the journal's thread and may still be syncing).
                        Assert.Single(Directory.GetFiles(journal.Directory, "journal-*"));
                    }
                }
            }
            await writer.FlushAsync().WaitAsync(Generous);
            // 400 requests wrote ~600 KB of entries: most segments are gone; what is left is about the open segment.
            Assert.True(journal.SegmentsDeleted >= 10, $"{journal.SegmentsDeleted} segments deleted");
            // With fsync each segment is zero-filled a stretch ahead of its entries: a file is at most about twice
            // SegmentBytes. Without fsync there are no zeros.
            Assert.True(largest <= (fsync ? 6 : 3) * SegmentBytes, $"journal held {largest} bytes");
            if (!fsync)
            {
                // No preallocation: every segment ends with its last entry's newline.
                Assert.All(Directory.GetFiles(journal.Directory, "journal-*"), f => Assert.Equal((byte)'\n', File.ReadAllBytes(f)[^1]));
            }
        }
        // The writer disposed the journal after its last commit: everything settled, nothing left to recover, and
        // the empty journal removed its directory.
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(dataDir, AuditJournal.DirectoryName)));
        Assert.Equal(400, (await store.QueryAsync(new AuditQuery { Limit = 1000 })).Count);
    }

    [Fact]
    public async Task With_fsync_the_last_bytes_wait_until_the_begin_entry_is_on_disk()
    {
        using var fsync = new ManualResetEventSlim(false);
        var syncs = 0;
        var armed = false;
        await using var harness = await GatewayHarness.StartAsync(output,
            c => c with { Audit = c.Audit with { JournalFsync = true } }, journalFlushToDisk: handle =>
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

    /// <summary>
    /// Writes an <c>airlock.yaml</c> in <paramref name="work"/> for <c>airlock serve</c> (the default <c>audit.durable:
    /// true</c>, which is the journal with the SQLite store) and creates a developer key; returns the key.
    /// </summary>
    private static async Task<string> ConfigureServeAsync(string work, ScriptedUpstream upstream)
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
            """);
        return JsonDocument.Parse(await BuiltCli.RunAsync(work, "keys", "create", "--user", "ada", "--json")).RootElement.GetProperty("key").GetString()!;
    }

    [Fact]
    public async Task A_kill_9_mid_stream_leaves_an_interrupted_record_and_a_completed_answer_keeps_its_ok_record()
    {
        using var temp = new TempDataDirectory("airlock-journal-crash-");
        var work = temp.Path;
        Directory.CreateDirectory(work);
        await using var upstream = await ScriptedUpstream.StartAsync();
        var key = await ConfigureServeAsync(work, upstream);

        // 1. A slow stream, killed once its first bytes arrived: the begin entry is all the trail can have.
        var slowId = await WithServeAsync(work, upstream, async (http, serve) =>
        {
            upstream.Enqueue(UpstreamReply.Text(string.Join(' ', Enumerable.Repeat("slow", 200))).WithEventDelay(TimeSpan.FromMilliseconds(200)));
            using var response = await http.SendAsync(BuiltCli.MessagesRequest(key, maxTokens: 64, stream: true), HttpCompletionOption.ResponseHeadersRead);
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
        string? secondLog = null;
        var doneId = await WithServeAsync(work, upstream, async (http, serve) =>
        {
            upstream.Enqueue(UpstreamReply.Text("complete answer"));
            using var response = await http.SendAsync(BuiltCli.MessagesRequest(key, maxTokens: 64, stream: true));
            var text = await response.Content.ReadAsStringAsync();
            serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync();
            Assert.Contains("message_stop", text, StringComparison.Ordinal);
            return response.Headers.GetValues("x-airlock-request-id").Single();
        }, log => secondLog = log);
        // The second start recovered the first run's journal (one request, from its begin entry alone), and the killed
        // second run left the answered request's final entry in its own journal directory.
        Assert.Matches("Audit journal recovered: 1 segment\\(s\\), 1 request\\(s\\); 0 final record\\(s\\) and 1 interrupted", secondLog);
        Assert.True(JournalHolds(work, "f", doneId), "the completed answer's final entry is not in the journal");

        // 3. One more start recovers the second run's journal; then the trail is read as an operator would.
        string? thirdLog = null;
        await WithServeAsync(work, upstream, (_, serve) =>
        {
            serve.Kill(entireProcessTree: true);
            return serve.WaitForExitAsync().ContinueWith(_ => "", TaskScheduler.Default);
        }, log => thirdLog = log);
        // Recovery ran over the answered request: the store either had committed it already or got it from the journal.
        Assert.Matches("Audit journal recovered: 1 segment\\(s\\), 1 request\\(s\\); [01] final record\\(s\\) and 0 interrupted record\\(s\\) added to the trail, [01] already recorded", thirdLog);
        Assert.False(JournalHolds(work, "f", doneId), "recovery left the second run's journal in place");
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

    [Fact]
    public async Task A_journal_directory_is_locked_with_flock_against_other_processes_and_a_second_open_in_this_one()
    {
        var root = Path.Combine(Path.GetTempPath(), "airlock-journal-lock-" + Guid.NewGuid().ToString("N"));
        try
        {
            var journal = AuditJournal.OpenInstance(root, NullLogger.Instance);
            var lockFile = Path.Combine(journal.Directory, AuditJournal.LockFileName);
            // A second journal on the same directory in this process is refused (its own open file description).
            Assert.Throws<IOException>(() => new AuditJournal(journal.Directory, NullLogger.Instance));
            // Another process sees an exclusive flock(2): util-linux flock -n fails (exit 1) while the journal is open.
            Assert.Equal(1, await FlockAsync(lockFile));
            journal.Begin(Begin("pending")); // never settled: the directory and its lock file stay after disposal
            journal.Dispose();
            Assert.Equal(0, await FlockAsync(lockFile));
            using var reopened = new AuditJournal(journal.Directory, NullLogger.Instance); // the owner is gone: free again
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<int> FlockAsync(string path)
    {
        var info = new ProcessStartInfo("flock") { RedirectStandardError = true };
        foreach (var arg in (string[])["-n", path, "true"])
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        await process.WaitForExitAsync().WaitAsync(Generous);
        return process.ExitCode;
    }

    [Fact]
    public async Task Recovery_takes_over_stopped_gateways_journals_and_the_flat_layout_and_never_touches_a_live_one()
    {
        using var temp = new TempDataDirectory("airlock-journal-");
        var dataDir = temp.Path;
        var root = Path.Combine(dataDir, AuditJournal.DirectoryName);
        using var store = await SqliteStore.OpenAsync(dataDir);
        // Session 6's layout: segments directly in audit-journal/.
        var flat = new AuditJournal(root, NullLogger.Instance);
        flat.Begin(Begin("flat"));
        flat.Dispose();
        var dead = AuditJournal.OpenInstance(root, NullLogger.Instance);
        var deadTicket = dead.Begin(Begin("dead"))!;
        Assert.True(dead.TryWriteFinal(deadTicket, Record("dead")));
        dead.Dispose();
        using var live = AuditJournal.OpenInstance(root, NullLogger.Instance);
        var liveTicket = live.Begin(Begin("live"))!;

        var result = await AuditJournal.RecoverAsync(root, store, spool: null, spoolOnFailure: false, NullLogger.Instance);

        Assert.Equal(new JournalRecovery(2, 2, 2, 1, 0) { Directories = 1, LiveDirectories = 1 }, result);
        var trail = (await store.QueryAsync(new AuditQuery { Limit = 10 })).ToDictionary(r => r.RequestId);
        Assert.Equal(["dead", "flat"], trail.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(AuditOutcome.Ok, trail["dead"].Outcome);
        Assert.Equal(AuditOutcome.Interrupted, trail["flat"].Outcome);
        Assert.False(Directory.Exists(dead.Directory));
        Assert.Empty(Directory.GetFiles(root, "journal-*"));
        // The live journal is untouched and still takes entries.
        Assert.Single(Directory.GetFiles(live.Directory, "journal-*"));
        Assert.True(live.TryWriteFinal(liveTicket, Record("live")));
        Assert.True(JournalHoldsIn(dataDir, "f", "live"));
    }

    [Fact]
    public async Task A_start_waits_for_another_gateways_recovery_only_so_long_then_starts_without_recovering()
    {
        using var temp = new TempDataDirectory("airlock-journal-");
        var dataDir = temp.Path;
        var root = Path.Combine(dataDir, AuditJournal.DirectoryName);
        using var store = await SqliteStore.OpenAsync(dataDir);
        var dead = AuditJournal.OpenInstance(root, NullLogger.Instance);
        dead.Begin(Begin("dead"));
        dead.Dispose();
        var logs = new RecordingLogger<AuditJournal>();

        // Another gateway is recovering (stuck on its store, say): it holds the recovery lock.
        using (new FileStream(Path.Combine(root, AuditJournal.RecoveryLockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var deferred = await AuditJournal.RecoverAsync(root, store, spool: null, spoolOnFailure: false, logs,
                lockWait: TimeSpan.FromMilliseconds(300)).WaitAsync(Generous);

            Assert.True(deferred.Deferred);
            Assert.Equal(0, deferred.Recovered);
            Assert.Empty(await store.QueryAsync(new AuditQuery { Limit = 10 }));
            Assert.True(Directory.Exists(dead.Directory));
            Assert.Contains(logs.Entries, e => e.EventId.Id == 3015);
        }

        // Once the lock is free, the next start recovers what was left.
        var recovered = await AuditJournal.RecoverAsync(root, store, spool: null, spoolOnFailure: false, NullLogger.Instance);
        Assert.False(recovered.Deferred);
        Assert.Equal(1, recovered.Interrupted);
        Assert.Equal("dead", Assert.Single(await store.QueryAsync(new AuditQuery { Limit = 10 })).RequestId);
    }

    [Fact]
    public async Task Recovery_keeps_the_segments_while_the_store_refuses_and_spools_when_allowed()
    {
        using var temp = new TempDataDirectory("airlock-journal-");
        var dataDir = temp.Path;
        var root = Path.Combine(dataDir, AuditJournal.DirectoryName);
        using var sqlite = await SqliteStore.OpenAsync(dataDir);
        var store = new FailingAuditStore(sqlite) { Failing = true };
        var journal = AuditJournal.OpenInstance(root, NullLogger.Instance);
        var ticket = journal.Begin(Begin("done"))!;
        Assert.True(journal.TryWriteFinal(ticket, Record("done")));
        journal.Dispose();

        var refused = await AuditJournal.RecoverAsync(root, store, spool: null, spoolOnFailure: false, NullLogger.Instance);
        Assert.True(refused.Kept);
        Assert.Equal(0, refused.Recovered);
        Assert.True(store.FailedAppends >= 1);
        Assert.Single(Directory.GetFiles(journal.Directory, "journal-*"));

        var spool = new AuditSpool(Path.Combine(dataDir, AuditSpool.FileName), 1 << 20);
        var spooled = await AuditJournal.RecoverAsync(root, store, spool, spoolOnFailure: true, NullLogger.Instance);
        Assert.False(spooled.Kept);
        Assert.Equal(1, spooled.Recovered);
        var record = Assert.Single(spool.ReadAll());
        Assert.Equal(("done", AuditOutcome.Ok), (record.RequestId, record.Outcome));
        Assert.False(Directory.Exists(journal.Directory));
        Assert.Empty(await sqlite.QueryAsync(new AuditQuery { Limit = 10 }));
    }

    [Fact]
    public async Task Shutdown_reports_records_whose_final_entry_is_in_the_journal_as_kept_not_lost_and_recovery_adds_them()
    {
        using var temp = new TempDataDirectory("airlock-journal-");
        var dataDir = temp.Path;
        var root = Path.Combine(dataDir, AuditJournal.DirectoryName);
        using var sqlite = await SqliteStore.OpenAsync(dataDir);
        var store = new FailingAuditStore(sqlite) { Failing = true };
        var journal = AuditJournal.OpenInstance(root, NullLogger.Instance);
        var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance, shutdownTimeout: TimeSpan.FromSeconds(1), journal: journal);
        var ticket = journal.Begin(Begin("journaled"))!;
        Assert.True(journal.TryWriteFinal(ticket, Record("journaled")));
        await writer.EnqueueAsync(Record("journaled"), ticket);
        await writer.EnqueueAsync(Record("unjournaled"));
        await writer.DisposeAsync();

        Assert.Equal(1, writer.JournaledOnShutdown);
        Assert.Equal(1, writer.LostOnShutdown);
        store.Failing = false;
        var result = await AuditJournal.RecoverAsync(root, store, spool: null, spoolOnFailure: false, NullLogger.Instance);
        Assert.Equal(1, result.Recovered);
        var record = Assert.Single(await sqlite.QueryAsync(new AuditQuery { Limit = 10 }));
        Assert.Equal(("journaled", AuditOutcome.Ok), (record.RequestId, record.Outcome));
    }

    [Fact]
    public async Task The_last_bytes_wait_for_the_final_records_journal_write()
    {
        using var write = new ManualResetEventSlim(false);
        var held = 0;
        await using var harness = await GatewayHarness.StartAsync(output, journalBeforeWrite: entries =>
        {
            if (entries[0] == (byte)'f' && Interlocked.Increment(ref held) == 1)
            {
                write.Wait(Generous);
            }
        });
        try
        {
            Assert.Equal(Airlock.Core.Configuration.AuditDurability.Journal, harness.Gateway.Config.Audit.Durability);
            harness.Upstream.Enqueue(UpstreamReply.Text("held until the journal is written"));
            using var response = await harness.SendStreamingAsync(harness.Messages(
                """{"model":"claude-opus-5-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = response.Content.ReadAsStringAsync();
            // State, not time: the final entry's write has started and is held.
            using (var bound = new CancellationTokenSource(Generous))
            {
                while (Volatile.Read(ref held) == 0)
                {
                    await Task.Delay(10, bound.Token);
                }
            }
            await Task.Delay(500);
            Assert.False(body.IsCompleted, "the answer completed before its final record was written to the journal");
            Assert.False(JournalHoldsIn(harness.DataDir, "f", null), "a final entry was written although its write is held");

            write.Set();
            var text = await body.WaitAsync(Generous);
            Assert.Contains("message_stop", text, StringComparison.Ordinal);
            var id = response.Headers.GetValues("x-airlock-request-id").Single();
            Assert.True(JournalHoldsIn(harness.DataDir, "f", id));
            var record = await harness.SingleAuditAsync();
            Assert.Equal((id, AuditOutcome.Ok), (record.RequestId, record.Outcome));
        }
        finally
        {
            write.Set();
        }
    }

    [Fact]
    public async Task When_the_journal_cannot_be_written_answers_wait_for_the_stores_commit()
    {
        FailingAuditStore? failing = null;
        var broken = 0;
        await using var harness = await GatewayHarness.StartAsync(output, wrapAuditStore: s => failing = new FailingAuditStore(s),
            journalBeforeWrite: entries =>
            {
                if (Volatile.Read(ref broken) == 1 && entries[0] == (byte)'f')
                {
                    throw new IOException("No space left on device");
                }
            });
        try
        {
            Volatile.Write(ref broken, 1);
            // The final entry's write fails, so the answer waits for the store, which refuses until told otherwise.
            await AssertTheAnswerWaitsForTheStoreAsync(harness, failing!, "first",
                "the answer completed although neither the journal nor the store holds its record");
            // The journal is off from now on: the next answer's record is committed before its last bytes.
            harness.Upstream.Enqueue(UpstreamReply.Text("second"));
            using var second = await harness.SendStreamingAsync(harness.Messages(
                """{"model":"claude-opus-5-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"again"}]}"""));
            Assert.Contains("message_stop", await second.Content.ReadAsStringAsync().WaitAsync(Generous), StringComparison.Ordinal);
            var secondId = second.Headers.GetValues("x-airlock-request-id").Single();
            Assert.Contains(await harness.Gateway.Store.QueryAsync(new AuditQuery { Limit = 10 }), r => r.RequestId == secondId);
            Assert.False(JournalHoldsIn(harness.DataDir, "", secondId), "a failed journal took an entry");
            Assert.All(await harness.AuditAsync(2), r => Assert.Equal(AuditOutcome.Ok, r.Outcome));
        }
        finally
        {
            failing!.Failing = false;
        }
    }

    [Fact]
    public async Task With_fsync_a_failing_sync_makes_answers_wait_for_the_stores_commit()
    {
        FailingAuditStore? failing = null;
        var broken = 0;
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Audit = c.Audit with { JournalFsync = true } },
            wrapAuditStore: s => failing = new FailingAuditStore(s),
            journalFlushToDisk: handle =>
            {
                if (Volatile.Read(ref broken) == 1)
                {
                    throw new IOException("Input/output error");
                }
                RandomAccess.FlushToDisk(handle);
            });
        try
        {
            Volatile.Write(ref broken, 1);
            // The begin entry's sync fails, so the answer waits for the store, which refuses until told otherwise.
            await AssertTheAnswerWaitsForTheStoreAsync(harness, failing!, "sync failed",
                "the answer completed although its begin entry was never synced and the store refused its record");
            var record = await harness.SingleAuditAsync();
            Assert.Equal(AuditOutcome.Ok, record.Outcome);
        }
        finally
        {
            failing!.Failing = false;
        }
    }

    /// <summary>
    /// Sends a turn while <paramref name="failing"/> refuses appends and the journal cannot take it: checks the answer
    /// stays incomplete until the store has refused twice (state, not time), then lets the store recover and checks the
    /// answer completes.
    /// </summary>
    private static async Task AssertTheAnswerWaitsForTheStoreAsync(GatewayHarness harness, FailingAuditStore failing, string reply, string whyNot)
    {
        failing.Failing = true;
        harness.Upstream.Enqueue(UpstreamReply.Text(reply));
        using var response = await harness.SendStreamingAsync(harness.Messages(
            """{"model":"claude-opus-5-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = response.Content.ReadAsStringAsync();
        using (var bound = new CancellationTokenSource(Generous))
        {
            while (failing.FailedAppends < 2)
            {
                await Task.Delay(10, bound.Token);
            }
        }
        Assert.False(body.IsCompleted, whyNot);

        failing.Failing = false;
        Assert.Contains("message_stop", await body.WaitAsync(Generous), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_leaves_mid_stream_gets_a_client_abort_record_and_its_final_entry()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.Text(string.Join(' ', Enumerable.Repeat("slow", 200))).WithEventDelay(TimeSpan.FromMilliseconds(100)));
        string id;
        using (var response = await harness.SendStreamingAsync(harness.Messages(
            """{"model":"claude-opus-5-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}""")))
        {
            id = response.Headers.GetValues("x-airlock-request-id").Single();
            var stream = await response.Content.ReadAsStreamAsync();
            Assert.True(await stream.ReadAsync(new byte[256]) > 0);
        } // the client leaves mid-stream
        var record = (await harness.AuditAsync(1, Generous)).Single();
        Assert.Equal((id, AuditOutcome.ClientAbort), (record.RequestId, record.Outcome));
        Assert.True(JournalHoldsIn(harness.DataDir, "b", id));
        Assert.True(JournalHoldsIn(harness.DataDir, "f", id));
    }

    [Fact]
    public async Task Two_gateways_on_one_data_directory_keep_their_journals_apart_and_a_kill_9_of_one_is_recovered_by_the_next_start()
    {
        using var temp = new TempDataDirectory("airlock-journal-two-");
        var work = temp.Path;
        Directory.CreateDirectory(work);
        await using var upstream = await ScriptedUpstream.StartAsync();
        var key = await ConfigureServeAsync(work, upstream);
        var journals = Path.Combine(work, ".airlock", AuditJournal.DirectoryName);
        string? blueId = null, greenId = null, thirdLog = null;
        await WithServeAsync(work, upstream, async (blueHttp, blue) =>
        {
            // Blue streams slowly; green starts on the same data directory meanwhile.
            upstream.Enqueue(UpstreamReply.Text(string.Join(' ', Enumerable.Repeat("slow", 1000))).WithEventDelay(TimeSpan.FromMilliseconds(200)));
            using var slow = await blueHttp.SendAsync(BuiltCli.MessagesRequest(key, maxTokens: 64, stream: true), HttpCompletionOption.ResponseHeadersRead);
            Assert.True(await (await slow.Content.ReadAsStreamAsync()).ReadAsync(new byte[256]) > 0);
            blueId = slow.Headers.GetValues("x-airlock-request-id").Single();
            Assert.True(JournalHolds(work, "b", blueId));
            return await WithServeAsync(work, upstream, async (greenHttp, green) =>
            {
                // Green's start did not recover blue's live journal: blue's begin entry is still there, not in the trail.
                Assert.Equal(2, Directory.GetDirectories(journals).Length);
                Assert.True(JournalHolds(work, "b", blueId));
                upstream.Enqueue(UpstreamReply.Text("green answer"));
                using var answered = await greenHttp.SendAsync(BuiltCli.MessagesRequest(key, maxTokens: 64, stream: true));
                Assert.Contains("message_stop", await answered.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                greenId = answered.Headers.GetValues("x-airlock-request-id").Single();

                blue.Kill(entireProcessTree: true); // SIGKILL of one gateway mid-stream
                await blue.WaitForExitAsync();
                // A third start takes over blue's journal (its lock died with it) and leaves green's (live) alone.
                await WithServeAsync(work, upstream, (_, third) =>
                {
                    third.Kill(entireProcessTree: true);
                    return third.WaitForExitAsync().ContinueWith(_ => "", TaskScheduler.Default);
                }, log => thirdLog = log);
                Assert.True(JournalHolds(work, "f", greenId), "recovery touched the live gateway's journal");
                Assert.False(JournalHolds(work, "b", blueId), "recovery left the killed gateway's journal");
                return "";
            });
        });
        Assert.Contains("belongs to a running gateway", thirdLog, StringComparison.Ordinal);
        Assert.Matches("0 final record\\(s\\) and 1 interrupted record\\(s\\) added to the trail", thirdLog);
        var trail = JsonDocument.Parse(await BuiltCli.RunAsync(work, "audit", "list", "--json")).RootElement.EnumerateArray()
            .Select(r => (Id: r.GetProperty("request_id").GetString(), Outcome: r.GetProperty("outcome").GetString())).ToList();
        Assert.Equal([(blueId, "interrupted")], trail.Where(r => r.Id == blueId));
        Assert.Equal([(greenId, "ok")], trail.Where(r => r.Id == greenId));
        Assert.Contains("intact", await BuiltCli.RunAsync(work, "audit", "verify"), StringComparison.OrdinalIgnoreCase);
    }

    private static bool JournalMentions(string work, string requestId) => JournalHolds(work, "", requestId);

    private static bool JournalHolds(string work, string tag, string requestId) => JournalHoldsIn(Path.Combine(work, ".airlock"), tag, requestId);

    /// <summary>True when an entry starting with <paramref name="tag"/> (b, f, or any) of <paramref name="requestId"/> (any when null) is in a journal of <paramref name="dataDir"/>.</summary>
    private static bool JournalHoldsIn(string dataDir, string tag, string? requestId)
    {
        var directory = Path.Combine(dataDir, AuditJournal.DirectoryName);
        return Directory.Exists(directory) && Directory.EnumerateFiles(directory, "journal-*", SearchOption.AllDirectories).Any(file =>
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Split('\n').Any(line => line.StartsWith(tag, StringComparison.Ordinal)
                && (requestId is null || line.Contains($"\"RequestId\":\"{requestId}\"", StringComparison.Ordinal)));
        });
    }

    /// <summary>Runs <c>airlock serve</c> in <paramref name="work"/> (the upstream's key in its environment) until <paramref name="use"/> returns.</summary>
    private async Task<string> WithServeAsync(string work, ScriptedUpstream upstream, Func<HttpClient, Process, Task<string>> use, Action<string>? logged = null)
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
                logged?.Invoke(log.ToString());
            }
        }
    }
}
