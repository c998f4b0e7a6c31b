using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Audit.Capture;
using Airlock.Core.Configuration;
using Airlock.Gateway.Audit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Airlock.Tests.Audit.AuditSamples;

namespace Airlock.Tests.Audit;

/// <summary>
/// Retention purge, subject erasure and encrypted content capture, on every store (SQLite and PostgreSQL run this
/// same suite): the chain verifies after a purge or an erasure, and tampering after either is still named.
/// </summary>
public abstract class RetentionContractTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2029, 6, 1, 12, 0, 0, TimeSpan.Zero);

    protected FakeTimeProvider Time { get; } = new(Now);

    protected IAuditStore Store { get; private set; } = null!;

    private IAuditRetentionStore Retention => (IAuditRetentionStore)Store;

    private IAuditContentStore Content => (IAuditContentStore)Store;

    protected abstract Task<IAuditStore> OpenStoreAsync();

    /// <summary>A second, independent store on the same database (another replica or process).</summary>
    protected abstract Task<IAuditStore> OpenSecondStoreAsync();

    /// <summary>
    /// Turns the database back into the schema before admin details (no <c>detail</c> column, the older schema version)
    /// and reopens the store on it, which migrates it again.
    /// </summary>
    protected abstract Task<IAuditStore> ReopenFromSchemaWithoutDetailAsync();

    /// <summary>Runs SQL directly against the database, as an attacker with write access would.</summary>
    protected abstract Task ExecuteSqlAsync(string sql);

    public async Task InitializeAsync() => Store = await OpenStoreAsync();

    public virtual Task DisposeAsync()
    {
        (Store as IDisposable)?.Dispose();
        return Task.CompletedTask;
    }

    private static RetentionConfig Years(int metadataYears, int contentDays = 30, Dictionary<string, RetentionPeriods>? teams = null) => new()
    {
        Default = new RetentionPeriods(TimeSpan.FromDays(contentDays), TimeSpan.FromDays(365 * metadataYears)),
        Teams = teams ?? [],
    };

    private AuditPurger Purger() => new(Store, Retention, Content, Time);

    /// <summary>A purge as the gateway job and the CLI run it: the head is signed right after, covering the purge record.</summary>
    private async Task<AuditPurgeReport> PurgeAndSignAsync(AuditSigningKey key, RetentionConfig retention)
    {
        var report = await Purger().PurgeAsync(retention);
        var head = await Store.GetChainHeadAsync();
        await Store.AppendCheckpointAsync(key.Sign(head.Sequence, head.Hash.Span, Time.GetUtcNow()));
        return report;
    }

    private async Task<List<AuditRecord>> AllAsync(AuditQuery? query = null)
    {
        var list = new List<AuditRecord>();
        await foreach (var record in Store.ReadAsync((query ?? new AuditQuery()) with { OldestFirst = true, Limit = int.MaxValue }))
        {
            list.Add(record);
        }
        return list;
    }

    /// <summary>Ten records: five three years old, five from last week; checkpoints signed at seq 3 and seq 8.</summary>
    private async Task<AuditSigningKey> TrailAsync()
    {
        var key = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));
        for (var i = 0; i < 10; i++)
        {
            var time = i < 5 ? Now.AddYears(-3).AddMinutes(i) : Now.AddDays(-7).AddMinutes(i);
            await Store.AppendAsync([Request("r" + i, time, i % 2 == 0 ? "ada" : "bob", "s-" + i)]);
            if (i is 2 or 7)
            {
                var head = await Store.GetChainHeadAsync();
                await Store.AppendCheckpointAsync(key.Sign(head.Sequence, head.Hash.Span, time));
            }
        }
        return key;
    }

    private Task<AuditVerification> VerifyAsync(AuditPublicKey key) => AuditChainVerifier.VerifyStoreAsync(Store, key);

    [Fact]
    public async Task A_metadata_purge_deletes_the_expired_prefix_records_itself_and_the_chain_still_verifies()
    {
        using var key = await TrailAsync();

        var report = await PurgeAndSignAsync(key, Years(2));
        var records = await AllAsync();
        var verification = await VerifyAsync(key.PublicKey);

        Assert.Equal((5L, 1L, 5L), (report.MetadataRecords, report.FromSequence, report.ToSequence));
        Assert.Equal(["r5", "r6", "r7", "r8", "r9"], records.Take(5).Select(r => r.RequestId));
        var purge = Assert.Single(records, r => r.Kind == AuditKind.Purge);
        Assert.Equal(AuditPurgeDetails.MetadataScope, purge.Purge!.Scope);
        Assert.Equal((1L, 5L, 5L), (purge.Purge.FromSequence!.Value, purge.Purge.ToSequence!.Value, purge.Purge.Records!.Value));
        Assert.Equal(records[0].Chain!.PreviousHash, purge.Purge.LastHash);
        Assert.True(verification.Intact, verification.Fault?.ToString());
        Assert.Equal(5, verification.PurgedThrough);
        Assert.Equal(2, verification.Checkpoints);
    }

    [Fact]
    public async Task Tampering_after_a_purge_is_still_named()
    {
        using var key = await TrailAsync();
        await PurgeAndSignAsync(key, Years(2));

        await ExecuteSqlAsync("UPDATE audit_records SET model = 'claude-forged' WHERE seq = 7");
        var edited = (await VerifyAsync(key.PublicKey)).Fault;
        await ExecuteSqlAsync("UPDATE audit_records SET model = 'claude-opus-5-5' WHERE seq = 7");
        Assert.True((await VerifyAsync(key.PublicKey)).Intact);
        await ExecuteSqlAsync("DELETE FROM audit_records WHERE seq = 6");
        var deleted = (await VerifyAsync(key.PublicKey)).Fault;

        Assert.Equal(7, edited!.Sequence);
        Assert.Contains("edited", edited.Reason, StringComparison.Ordinal);
        Assert.NotNull(deleted);
        Assert.Equal(7, deleted.Sequence);
        Assert.Contains("no purge record accounts for them", deleted.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forged_purge_record_does_not_hide_a_deleted_prefix()
    {
        using var key = await TrailAsync();
        await PurgeAndSignAsync(key, Years(2));
        // The attacker deletes two more records and rewrites the purge record's range: its hash no longer matches.
        await ExecuteSqlAsync("DELETE FROM audit_records WHERE seq IN (6, 7)");
        var head = await Store.GetChainHeadAsync();
        var purgeSeq = head.Sequence;
        var json = JsonSerializer.Serialize(new { scope = "metadata", from_sequence = 1, to_sequence = 7, last_hash = new string('0', 64), records = 7 });
        await ExecuteSqlAsync($"UPDATE audit_records SET purge = '{json}' WHERE seq = {purgeSeq}");

        var fault = (await VerifyAsync(key.PublicKey)).Fault;

        Assert.NotNull(fault);
    }

    [Fact]
    public async Task A_second_purge_anchors_on_the_newest_purge_record_and_dry_runs_change_nothing()
    {
        using var key = await TrailAsync();
        await PurgeAndSignAsync(key, Years(2));
        Time.Advance(TimeSpan.FromDays((365 * 2) + 1));

        var dry = await Purger().PurgeAsync(Years(2), dryRun: true);
        var countBefore = (await AllAsync()).Count;
        var report = await PurgeAndSignAsync(key, Years(2));
        var verification = await VerifyAsync(key.PublicKey);
        var records = await AllAsync();

        Assert.True(dry.DryRun);
        Assert.Equal((6L, 6L, 11L), (dry.MetadataRecords, dry.FromSequence, dry.ToSequence));
        Assert.Equal(11, countBefore + 5);
        Assert.Equal(6, report.MetadataRecords);
        Assert.Equal(AuditKind.Purge, Assert.Single(records).Kind);
        Assert.True(verification.Intact, verification.Fault?.ToString());
        Assert.Equal(11, verification.PurgedThrough);
    }

    [Fact]
    public async Task A_team_with_a_longer_retention_holds_back_the_prefix()
    {
        using var key = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));
        await Store.AppendAsync(
        [
            Request("old-1", Now.AddYears(-3)),
            Request("old-long", Now.AddYears(-3)) with { Team = "legal" },
            Request("old-2", Now.AddYears(-3)),
        ]);

        var report = await PurgeAndSignAsync(key, Years(2, teams: new() { ["legal"] = new(TimeSpan.FromDays(30), TimeSpan.FromDays(365 * 5)) }));

        Assert.Equal(1, report.MetadataRecords);
        Assert.Equal(["old-long", "old-2"], (await AllAsync()).Where(r => r.Kind != AuditKind.Purge).Select(r => r.RequestId));
        Assert.True((await VerifyAsync(key.PublicKey)).Intact);
    }

    [Fact]
    public async Task Erasure_pseudonymises_every_record_of_the_person_and_the_chain_still_verifies()
    {
        using var key = await TrailAsync();
        var rights = new SubjectRights(Store, Retention, Content, null, null, null, Time);

        var report = await rights.EraseAsync("ada");
        var records = await AllAsync();
        var verification = await VerifyAsync(key.PublicKey);

        Assert.Equal(5, report.Records);
        Assert.Equal(0, report.Unerasable);
        Assert.DoesNotContain(records, r => r.User == "ada");
        var erased = records.Where(r => r.User == report.Pseudonym).ToList();
        Assert.Equal(5, erased.Count);
        Assert.All(erased, r => Assert.Null(r.ClientAddress));
        Assert.All(erased, r => Assert.Null(r.Chain!.IdentitySalt));
        Assert.All(records.Where(r => r.User == "bob"), r => Assert.NotNull(r.Chain!.IdentitySalt));
        var erasure = Assert.Single(records, r => r.Kind == AuditKind.Purge);
        Assert.Equal((AuditPurgeDetails.SubjectScope, report.Pseudonym), (erasure.Purge!.Scope, erasure.Purge.Subject));
        Assert.True(verification.Intact, verification.Fault?.ToString());
        Assert.Equal(2, verification.Checkpoints);
    }

    [Fact]
    public async Task An_erased_record_cannot_be_given_a_name_and_an_unerased_one_cannot_be_renamed()
    {
        using var key = await TrailAsync();
        var report = await new SubjectRights(Store, Retention, Content, null, null, null, Time).EraseAsync("ada");

        await ExecuteSqlAsync($"UPDATE audit_records SET user_name = 'mallory' WHERE user_name = '{report.Pseudonym}' AND seq = 3");
        var named = (await VerifyAsync(key.PublicKey)).Fault;
        await ExecuteSqlAsync($"UPDATE audit_records SET user_name = '{report.Pseudonym}' WHERE seq = 3");
        Assert.True((await VerifyAsync(key.PublicKey)).Intact);
        await ExecuteSqlAsync("UPDATE audit_records SET user_name = 'mallory' WHERE seq = 2");
        var renamed = (await VerifyAsync(key.PublicKey)).Fault;

        Assert.Equal(3, named!.Sequence);
        Assert.Contains("not pseudonymised", named.Reason, StringComparison.Ordinal);
        Assert.Equal(2, renamed!.Sequence);
        Assert.Contains("identity commitment", renamed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Captured_content_is_sealed_per_request_opens_only_on_its_own_record_and_is_purged_and_shredded()
    {
        using var wrapper = new AesGcmKeyWrapper(RandomNumberGenerator.GetBytes(32));
        using var ring = new DataKeyRing(Content, wrapper, Time);
        await using (var writer = new ContentCaptureWriter(Content, ring))
        {
            Assert.True(writer.TryEnqueue(Item("c-old", Now.AddDays(-40), "ada", "secret-marker-old")));
            Assert.True(writer.TryEnqueue(Item("c-new", Now.AddDays(-1), "ada", "secret-marker-new")));
            Assert.True(writer.TryEnqueue(Item("c-bob", Now.AddDays(-1), "bob", "bob text")));
            await writer.FlushAsync();
            Assert.Equal(3, writer.Stored);
        }

        var newOne = (await Content.FindContentAsync("c-new"))!;
        var bobs = (await Content.FindContentAsync("c-bob"))!;
        var key = (await ring.GetOpeningKeyAsync(newOne.Period))!;
        Assert.Equal("{\"prompt\":\"secret-marker-new\"}", ContentSealer.Open(key, newOne).Request);
        Assert.DoesNotContain("secret-marker-new", Encoding.UTF8.GetString(newOne.Ciphertext), StringComparison.Ordinal);
        // A blob moved onto another record's row does not open (the request id is its associated data).
        Assert.Throws<AuthenticationTagMismatchException>(() => ContentSealer.Open(key, bobs with { Nonce = newOne.Nonce, Ciphertext = newOne.Ciphertext }));
        Assert.NotNull(await Content.FindDataKeyAsync(ContentSealer.PeriodOf(Now.AddDays(-40))));

        var report = await Purger().PurgeAsync(Years(2, contentDays: 30));

        Assert.Equal(1, report.ContentBlobs);
        Assert.Null(await Content.FindContentAsync("c-old"));
        Assert.NotNull(await Content.FindContentAsync("c-new"));
        Assert.Equal([ContentSealer.PeriodOf(Now.AddDays(-40))], report.DestroyedKeyPeriods);
        Assert.Null(await Content.FindDataKeyAsync(ContentSealer.PeriodOf(Now.AddDays(-40))));
        var purge = Assert.Single(await AllAsync(), r => r.Kind == AuditKind.Purge);
        Assert.Equal((AuditPurgeDetails.ContentScope, 1L), (purge.Purge!.Scope, purge.Purge.Records!.Value));

        var erased = await new SubjectRights(Store, Retention, Content, ring, null, null, Time).EraseAsync("ada");
        Assert.Equal(1, erased.ContentBlobs);
        Assert.Null(await Content.FindContentAsync("c-new"));
        Assert.NotNull(await Content.FindContentAsync("c-bob"));
    }

    [Fact]
    public async Task Subject_export_holds_records_and_decrypted_content_of_that_person_only()
    {
        await Store.AppendAsync([Request("a1", Now, "ada"), Request("b1", Now, "bob"), ToolEvent("t1", Now, "evt-1")]);
        using var wrapper = new AesGcmKeyWrapper(RandomNumberGenerator.GetBytes(32));
        using var ring = new DataKeyRing(Content, wrapper, Time);
        await using (var writer = new ContentCaptureWriter(Content, ring))
        {
            writer.TryEnqueue(Item("a1", Now, "ada", "ada prompt"));
            writer.TryEnqueue(Item("b1", Now, "bob", "bob prompt"));
            await writer.FlushAsync();
        }
        using var output = new MemoryStream();

        var count = await new SubjectRights(Store, Retention, Content, ring, null, null, Time).ExportAsync("ada", output);
        using var export = JsonDocument.Parse(output.ToArray());
        var root = export.RootElement;

        Assert.Equal(2, count);
        Assert.Equal("ada", root.GetProperty("subject").GetString());
        Assert.Equal(["a1", "t1"], root.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("request_id").GetString()));
        var content = Assert.Single(root.GetProperty("content").EnumerateArray());
        Assert.Equal("{\"prompt\":\"ada prompt\"}", content.GetProperty("request").GetString());
        Assert.DoesNotContain("bob prompt", Encoding.UTF8.GetString(output.ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_purge_record_appended_after_the_last_checkpoint_and_not_signed_is_named()
    {
        using var key = await TrailAsync();
        // Someone with write access but without the signing key runs the purge logic: a well-formed purge record after
        // the last checkpoint (seq 8), the prefix deleted with its checkpoints, and no signature over it.
        await Purger().PurgeAsync(Years(2));
        var purge = Assert.Single(await AllAsync(), r => r.Kind == AuditKind.Purge);

        var unsigned = (await VerifyAsync(key.PublicKey)).Fault;
        using var other = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));
        var head = await Store.GetChainHeadAsync();
        await Store.AppendCheckpointAsync(other.Sign(head.Sequence, head.Hash.Span, Time.GetUtcNow()));
        var wrongKey = (await VerifyAsync(key.PublicKey)).Fault;

        Assert.NotNull(unsigned);
        Assert.Equal((purge.Chain!.Sequence, purge.RequestId), (unsigned.Sequence, unsigned.RequestId));
        Assert.Contains("unsigned purge anchor", unsigned.Reason, StringComparison.Ordinal);
        Assert.Contains("seq 1..5", unsigned.Reason, StringComparison.Ordinal);
        Assert.NotNull(wrongKey);
        Assert.Contains("not the trusted key", wrongKey.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_export_after_a_signed_purge_verifies_and_one_after_an_unsigned_purge_names_the_purge_record()
    {
        using var key = await TrailAsync();
        await PurgeAndSignAsync(key, Years(2));
        var signedExport = await ExportAsync(key);
        Time.Advance(TimeSpan.FromDays((365 * 2) + 1));
        await Purger().PurgeAsync(Years(2));
        var unsignedExport = await ExportAsync(key);
        var secondPurge = (await AllAsync()).Last(r => r.Kind == AuditKind.Purge);

        var signed = await AuditExport.VerifyAsync(new StringReader(signedExport), key.PublicKey);
        var unsigned = await AuditExport.VerifyAsync(new StringReader(unsignedExport), key.PublicKey);

        Assert.True(signed.Intact, signed.Fault?.ToString());
        Assert.Equal(5, signed.PurgedThrough);
        Assert.False(unsigned.Intact);
        Assert.Equal(secondPurge.Chain!.Sequence, unsigned.Fault!.Sequence);
        Assert.Contains("unsigned purge anchor", unsigned.Fault.Reason, StringComparison.Ordinal);
        Assert.Equal(0, unsigned.PurgedThrough);
    }

    private async Task<string> ExportAsync(AuditSigningKey key)
    {
        var head = await Store.GetChainHeadAsync();
        using var text = new StringWriter();
        await AuditExport.WriteAsync(text, AuditExportFormat.Jsonl,
            new AuditExportHeader { ExportedAt = Time.GetUtcNow(), ToSequence = head.Sequence, KeyId = key.KeyId },
            Store.ReadAsync(new AuditQuery { OldestFirst = true, ToSequence = head.Sequence, Limit = int.MaxValue }),
            Store.ReadCheckpointsAsync(head.Sequence));
        return text.ToString();
    }

    [Fact]
    public async Task With_skewed_clocks_the_purge_deletes_only_the_prefix_that_is_all_expired_and_time_queries_filter_each_record()
    {
        using var key = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));
        // Replicas stamp records with their own clocks, so time is not monotonic in sequence order: seq 2 is timed
        // before seq 1, seq 3 (a replica whose clock runs years fast, or a record written just now) sits between old ones.
        await Store.AppendAsync(
        [
            Request("old-late", Now.AddYears(-3).AddMinutes(5)),
            Request("old-early", Now.AddYears(-3)),
            Request("recent", Now.AddDays(-1)),
            Request("old-after-recent", Now.AddYears(-3).AddMinutes(10)),
        ]);

        var report = await PurgeAndSignAsync(key, Years(2));
        var records = await AllAsync();
        var verification = await VerifyAsync(key.PublicKey);
        var oldOnes = await AllAsync(new AuditQuery { Since = Now.AddYears(-4), Until = Now.AddYears(-2) });

        Assert.Equal((2L, 1L, 2L), (report.MetadataRecords, report.FromSequence, report.ToSequence));
        Assert.Equal(["recent", "old-after-recent"], records.Where(r => r.Kind != AuditKind.Purge).Select(r => r.RequestId));
        // The purge record states the newest time it removed (the maximum, not the last record's time).
        Assert.Equal(Now.AddYears(-3).AddMinutes(5), Assert.Single(records, r => r.Kind == AuditKind.Purge).Purge!.Before);
        Assert.True(verification.Intact, verification.Fault?.ToString());
        Assert.Equal(1, verification.TimeRegressions);
        Assert.Equal(Now.AddDays(-1) - Now.AddYears(-3).AddMinutes(10), verification.LargestTimeRegression);
        Assert.Equal(["old-after-recent"], oldOnes.Select(r => r.RequestId));
    }

    [Fact]
    public async Task Two_stores_on_one_database_with_different_clocks_append_concurrently_into_one_chain()
    {
        using var key = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));
        var second = await OpenSecondStoreAsync();
        try
        {
            // Replica b's clock runs five minutes behind replica a's.
            var clocks = new[] { new FakeTimeProvider(Now), new FakeTimeProvider(Now.AddMinutes(-5)) };
            var stores = new[] { Store, second };
            const int Writers = 3, Batches = 15;
            var writers = Enumerable.Range(0, 2 * Writers).Select(w => Task.Run(async () =>
            {
                var replica = w % 2;
                for (var b = 0; b < Batches; b++)
                {
                    var time = clocks[replica].GetUtcNow().AddMilliseconds((w * 1000) + b);
                    await stores[replica].AppendAsync([.. Enumerable.Range(0, 1 + (b % 3)).Select(i => Request($"{"ab"[replica]}-{w}-{b}-{i}", time))]);
                }
            })).ToList();
            await Task.WhenAll(writers).WaitAsync(TimeSpan.FromMinutes(5));
            // One more from each, in turn: the slow replica's record now follows the fast one's.
            await Store.AppendAsync([Request("a-last", clocks[0].GetUtcNow().AddMinutes(1))]);
            await second.AppendAsync([Request("b-last", clocks[1].GetUtcNow().AddMinutes(1))]);
            var headA = await Store.GetChainHeadAsync();
            var headB = await second.GetChainHeadAsync();
            await second.AppendCheckpointAsync(key.Sign(headB.Sequence, headB.Hash.Span, clocks[1].GetUtcNow()));

            var records = await AllAsync();
            var verification = await VerifyAsync(key.PublicKey);

            var expected = (2 * Writers * Enumerable.Range(0, Batches).Sum(b => 1 + (b % 3))) + 2;
            Assert.Equal(expected, records.Count);
            Assert.Equal(Enumerable.Range(1, expected).Select(i => (long)i), records.Select(r => r.Chain!.Sequence));
            Assert.Equal(expected, records.Select(r => r.RequestId).Distinct().Count());
            Assert.Equal((headA.Sequence, headB.Sequence), ((long)expected, (long)expected));
            Assert.True(verification.Intact, verification.Fault?.ToString());
            Assert.Equal(expected, verification.Records);
            Assert.True(verification.TimeRegressions >= 1, "the slow replica's last record is timed before the fast one's");
            Assert.True(verification.LargestTimeRegression >= TimeSpan.FromMinutes(4));
        }
        finally
        {
            (second as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public async Task A_store_from_before_the_detail_column_migrates_and_mixes_old_admin_records_with_new_ones_in_one_verifiable_chain()
    {
        using var key = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));
        await Store.AppendAsync(
        [
            Request("before", Now.AddDays(-2)),
            new AuditRecord
            {
                Kind = AuditKind.Admin, RequestId = "old-admin", Time = Now.AddDays(-2), Door = "admin", Operation = "audit.list", Outcome = AuditOutcome.Ok,
                Tool = new ToolEventDetails { HookEvent = "admin", ToolName = "audit.list", Command = "GET /admin/v1/audit/records" },
            },
        ]);
        (Store as IDisposable)?.Dispose();
        Store = await ReopenFromSchemaWithoutDetailAsync();

        await Store.AppendAsync(
        [
            new AuditRecord { Kind = AuditKind.Admin, RequestId = "new-admin", Time = Now, Door = "admin", Operation = "audit.list", Outcome = AuditOutcome.Ok, Detail = "GET /admin/v1/audit/records?user=ada" },
        ]);
        var head = await Store.GetChainHeadAsync();
        await Store.AppendCheckpointAsync(key.Sign(head.Sequence, head.Hash.Span, Now));
        var verification = await VerifyAsync(key.PublicKey);
        var records = await AllAsync();
        await ExecuteSqlAsync("UPDATE audit_records SET detail = 'GET /admin/v1/audit/records?user=bob' WHERE request_id = 'new-admin'");
        var edited = (await VerifyAsync(key.PublicKey)).Fault;

        Assert.True(verification.Intact, verification.Fault?.ToString());
        Assert.Equal(3, verification.Records);
        Assert.Equal(("GET /admin/v1/audit/records", (string?)null), (records[1].Tool!.Command, records[1].Detail));
        Assert.Equal(("GET /admin/v1/audit/records?user=ada", (ToolEventDetails?)null), (records[2].Detail, records[2].Tool));
        Assert.Equal(3, edited!.Sequence);
    }

    [Fact]
    public async Task Two_gateway_writers_on_one_database_one_with_a_clock_five_minutes_slow_keep_one_signed_chain()
    {
        var seed = RandomNumberGenerator.GetBytes(32);
        using var key = AuditSigningKey.FromSeed(seed);
        var second = await OpenSecondStoreAsync();
        try
        {
            var clocks = new[] { new FakeTimeProvider(Now), new FakeTimeProvider(Now.AddMinutes(-5)) };
            var writers = new[]
            {
                new AuditWriter(Store, NullLogger<AuditWriter>.Instance, signingKey: AuditSigningKey.FromSeed(seed), checkpointInterval: TimeSpan.FromHours(1), time: clocks[0]),
                new AuditWriter(second, NullLogger<AuditWriter>.Instance, signingKey: AuditSigningKey.FromSeed(seed), checkpointInterval: TimeSpan.FromHours(1), time: clocks[1]),
            };
            const int Callers = 4, PerCaller = 25;
            var callers = Enumerable.Range(0, 2 * Callers).Select(c => Task.Run(async () =>
            {
                var replica = c % 2;
                for (var i = 0; i < PerCaller; i++)
                {
                    // Each replica stamps its records with its own clock, as the pipeline does.
                    await writers[replica].WriteDurableAsync(Request($"{"ab"[replica]}-{c}-{i}", clocks[replica].GetUtcNow().AddMilliseconds(i)));
                    if (i == PerCaller / 2)
                    {
                        await writers[replica].CheckpointHeadAsync();
                    }
                }
            })).ToList();
            await Task.WhenAll(callers).WaitAsync(TimeSpan.FromMinutes(5));
            await writers[0].WriteDurableAsync(Request("a-last", clocks[0].GetUtcNow().AddMinutes(1)));
            await writers[1].WriteDurableAsync(Request("b-last", clocks[1].GetUtcNow().AddMinutes(1)));
            foreach (var writer in writers)
            {
                // Disposal signs a final checkpoint of the shared head.
                await writer.DisposeAsync();
            }

            var records = await AllAsync();
            var verification = await VerifyAsync(key.PublicKey);

            const int Expected = (2 * Callers * PerCaller) + 2;
            Assert.Equal(Enumerable.Range(1, Expected).Select(i => (long)i), records.Select(r => r.Chain!.Sequence));
            Assert.Equal(Expected, records.Select(r => r.RequestId).Distinct().Count());
            Assert.True(verification.Intact, verification.Fault?.ToString());
            Assert.Equal(Expected, verification.LastSequence);
            Assert.True(verification.Checkpoints >= 2, $"{verification.Checkpoints} checkpoint(s)");
            Assert.True(verification.TimeRegressions >= 1);
        }
        finally
        {
            (second as IDisposable)?.Dispose();
        }
    }

    private static ContentCaptureItem Item(string requestId, DateTimeOffset time, string user, string prompt) => new(requestId, time, user, "platform",
        new CapturedContent { Mode = "redacted", Request = JsonSerializer.Serialize(new { prompt }), Response = "answer to " + requestId });
}
