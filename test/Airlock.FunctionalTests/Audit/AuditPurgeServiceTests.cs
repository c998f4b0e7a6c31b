using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Gateway.Audit;
using Airlock.Storage.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Airlock.FunctionalTests.Audit;

/// <summary>
/// The gateway's hosted purge job on a fake clock over a real SQLite store: it purges after its first-run delay and
/// then every <c>purge_interval</c>, and signs the head after each purge, so the purge record is a signed anchor even
/// when no request went through the writer since its last checkpoint. Outcomes are waited for on the store's state.
/// </summary>
public sealed class AuditPurgeServiceTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(2);
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "airlock-purge-job-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDir, recursive: true);
    }

    private static AuditRecord Record(string requestId, DateTimeOffset time) => new()
    {
        RequestId = requestId,
        Time = time,
        Door = "messages",
        Operation = "messages",
        User = "ada",
        Outcome = AuditOutcome.Ok,
    };

    [Fact]
    public async Task The_job_purges_after_its_first_delay_and_every_interval_signing_each_purge_record()
    {
        var now = new DateTimeOffset(2031, 5, 1, 12, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(now);
        var retention = new RetentionConfig { Default = new RetentionPeriods(TimeSpan.FromDays(30), TimeSpan.FromDays(365)), PurgeInterval = TimeSpan.FromHours(1) };
        var config = new AirlockConfig
        {
            Level = 0,
            DataDir = _dataDir,
            Upstreams = [],
            Routes = [],
            Audit = new AuditConfig { Retention = retention },
        };
        using var store = await SqliteStore.OpenAsync(_dataDir);
        await store.AppendAsync([Record("expired", now.AddDays(-400)), Record("kept", now.AddDays(-300))]);
        var seed = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        using var key = AuditSigningKey.FromSeed(seed);
        var publicKey = key.PublicKey;
        // The writer's own copy of the key: it disposes the key it is given.
        var writerKey = AuditSigningKey.FromSeed(seed);
        await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance, signingKey: writerKey, checkpointInterval: TimeSpan.FromHours(24), time: time);
        using var service = new AuditPurgeService(config, new OpenedAuditStoreAccessor(store), writer, time, NullLogger<AuditPurgeService>.Instance);

        await service.StartAsync(CancellationToken.None);
        // Nothing before the first-run delay has passed on the fake clock.
        var beforeDelay = await store.QueryAsync(new AuditQuery { Kind = AuditKind.Purge, Limit = 10 });
        var first = await WaitForPurgesAsync(store, time, AuditPurgeService.FirstRunDelay, 1);
        var firstCheck = await AuditChainVerifier.VerifyStoreAsync(store, publicKey);
        // Sixty-six days later the second record has expired too; the next interval's run purges it.
        time.Advance(TimeSpan.FromDays(66));
        var second = await WaitForPurgesAsync(store, time, retention.PurgeInterval, 2);
        var secondCheck = await AuditChainVerifier.VerifyStoreAsync(store, publicKey);
        await service.StopAsync(CancellationToken.None);
        var left = await store.QueryAsync(new AuditQuery { OldestFirst = true, Limit = 10 });

        Assert.Empty(beforeDelay);
        Assert.Equal((1L, 1L), (first[0].Purge!.FromSequence!.Value, first[0].Purge!.ToSequence!.Value));
        Assert.True(firstCheck.Intact, firstCheck.Fault?.ToString());
        Assert.Equal(1, firstCheck.PurgedThrough);
        Assert.True(secondCheck.Intact, secondCheck.Fault?.ToString());
        Assert.Equal(2, secondCheck.PurgedThrough);
        Assert.Equal((2L, 2L), (second[0].Purge!.FromSequence!.Value, second[0].Purge!.ToSequence!.Value));
        // Left: the two purge records (the first is younger than the retention, so it holds the prefix there).
        Assert.Equal([3L, 4L], left.Select(r => r.Chain!.Sequence));
        Assert.All(left, r => Assert.Equal(AuditKind.Purge, r.Kind));
        Assert.Equal("gateway", left[0].Door);
    }

    /// <summary>Advances the fake clock by <paramref name="step"/> until the trail holds <paramref name="count"/> metadata purge records
    /// and a checkpoint at the head (the job signs right after purging).</summary>
    private static async Task<List<AuditRecord>> WaitForPurgesAsync(SqliteStore store, FakeTimeProvider time, TimeSpan step, int count)
    {
        using var bound = new CancellationTokenSource(Generous);
        while (true)
        {
            var purges = (await store.QueryAsync(new AuditQuery { Kind = AuditKind.Purge, Limit = 10 }, bound.Token))
                .Where(r => r.Purge?.Scope == AuditPurgeDetails.MetadataScope).ToList();
            var head = await store.GetChainHeadAsync(bound.Token);
            var signed = false;
            await foreach (var checkpoint in store.ReadCheckpointsAsync(long.MaxValue, bound.Token))
            {
                signed |= checkpoint.Sequence == head.Sequence;
            }
            if (purges.Count >= count && signed)
            {
                return purges;
            }
            time.Advance(step);
            await Task.Delay(50, bound.Token);
        }
    }
}
