using Airlock.Core.Audit;
using Airlock.Gateway.Audit;
using Airlock.Storage.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Airlock.FunctionalTests.Audit;

/// <summary>
/// Shutdown with a dead audit store is bounded by <c>audit.shutdown_timeout</c>: what the store did not take by then
/// goes to the spool (and is replayed at the next start) or, without a spool, is logged as lost by count and request
/// id only. Disposal is awaited on its own completion with a generous bound; the short shutdown timeout is the thing
/// under test, not a timer that decides the outcome.
/// </summary>
public sealed class AuditShutdownTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(3);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "airlock-shutdown-" + Guid.NewGuid().ToString("N"));

    public AuditShutdownTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    private static AuditRecord Record(string requestId) => new()
    {
        RequestId = requestId,
        Time = DateTimeOffset.UtcNow,
        Door = "messages",
        Operation = "messages",
        User = "ada.lovelace@example.com",
        Model = "claude-opus-5-5",
        Outcome = AuditOutcome.Ok,
    };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task With_a_dead_store_shutdown_ends_after_the_timeout_and_spools_what_was_not_committed(bool honoursCancellation)
    {
        var store = new DeadAuditStore(honoursCancellation);
        var spool = new AuditSpool(Path.Combine(_root, AuditSpool.FileName), 1 << 20);
        var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance, spool: spool, shutdownTimeout: TimeSpan.FromSeconds(1));
        await writer.EnqueueAsync(Record("r-1"));
        await store.FirstAppend.WaitAsync(Generous);
        await writer.EnqueueAsync(Record("r-2"));
        await writer.EnqueueAsync(Record("r-3"));

        await writer.DisposeAsync().AsTask().WaitAsync(Generous);

        Assert.Equal(3, writer.SpooledOnShutdown);
        Assert.Equal(0, writer.LostOnShutdown);
        Assert.Equal(0, writer.Written);
        Assert.Equal(["r-1", "r-2", "r-3"], spool.ReadAll().Select(r => r.RequestId));
    }

    [Fact]
    public async Task Records_spooled_at_shutdown_are_replayed_at_the_next_start_and_the_chain_verifies()
    {
        var spool = new AuditSpool(Path.Combine(_root, AuditSpool.FileName), 1 << 20);
        var dead = new DeadAuditStore(honoursCancellation: true);
        var first = new AuditWriter(dead, NullLogger<AuditWriter>.Instance, spool: spool, shutdownTimeout: TimeSpan.FromSeconds(1));
        await first.EnqueueAsync(Record("before-1"));
        await first.EnqueueAsync(Record("before-2"));
        await first.DisposeAsync().AsTask().WaitAsync(Generous);

        using var store = await SqliteStore.OpenAsync(Path.Combine(_root, "data"));
        await using (var second = new AuditWriter(store, NullLogger<AuditWriter>.Instance, spool: spool))
        {
            await second.EnqueueAsync(Record("after-1"));
            await second.FlushAsync().WaitAsync(Generous);
        }
        var records = await store.QueryAsync(new AuditQuery { OldestFirst = true, Limit = 100 });

        Assert.Equal(2, first.SpooledOnShutdown);
        Assert.Equal(["before-1", "before-2", "audit.store_gap", "after-1"],
            records.Select(r => r.Kind == AuditKind.Admin ? r.Operation : r.RequestId));
        Assert.True(spool.IsEmpty);
        Assert.True((await AuditChainVerifier.VerifyStoreAsync(store, null)).Intact);
    }

    [Fact]
    public async Task Without_a_spool_records_are_logged_as_lost_by_count_and_request_id_only()
    {
        var store = new DeadAuditStore(honoursCancellation: true);
        var logger = new RecordingLogger<AuditWriter>();
        var writer = new AuditWriter(store, logger, shutdownTimeout: TimeSpan.FromSeconds(1));
        await writer.EnqueueAsync(Record("lost-1"));
        await store.FirstAppend.WaitAsync(Generous);
        await writer.EnqueueAsync(Record("lost-2"));

        await writer.DisposeAsync().AsTask().WaitAsync(Generous);

        Assert.Equal(2, writer.LostOnShutdown);
        var lost = Assert.Single(logger.Entries, m => m.Level == LogLevel.Critical);
        Assert.Contains("2 record(s)", lost.Text, StringComparison.Ordinal);
        Assert.Contains("lost-1 lost-2", lost.Text, StringComparison.Ordinal);
        Assert.All(logger.Entries, m => Assert.DoesNotContain("ada.lovelace", m.Text, StringComparison.Ordinal));
        Assert.All(logger.Entries, m => Assert.DoesNotContain("claude-opus", m.Text, StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_a_live_store_shutdown_writes_everything_and_loses_nothing()
    {
        using var store = await SqliteStore.OpenAsync(Path.Combine(_root, "data"));
        var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance, shutdownTimeout: TimeSpan.FromSeconds(30));
        for (var i = 0; i < 100; i++)
        {
            await writer.EnqueueAsync(Record("ok-" + i));
        }

        await writer.DisposeAsync().AsTask().WaitAsync(Generous);

        Assert.Equal(100, writer.Written);
        Assert.Equal((0L, 0L), (writer.LostOnShutdown, writer.SpooledOnShutdown));
        Assert.Equal(100, (await store.GetChainHeadAsync()).Sequence);
    }

    /// <summary>
    /// A store whose appends never return: a PostgreSQL server that stopped answering, or a disk that blocks. One
    /// variant still honours cancellation (Npgsql does), the other ignores it (a call stuck in the kernel).
    /// </summary>
    private sealed class DeadAuditStore(bool honoursCancellation) : IAuditStore
    {
        private readonly TaskCompletionSource _firstAppend = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _never = new();

        public Task FirstAppend => _firstAppend.Task;

        public Task AppendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken = default)
        {
            _firstAppend.TrySetResult();
            return honoursCancellation ? Task.Delay(Timeout.Infinite, cancellationToken) : _never.Task;
        }

        public async IAsyncEnumerable<AuditRecord> ReadAsync(AuditQuery query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }

        public Task<AuditChainHead> GetChainHeadAsync(CancellationToken cancellationToken = default) =>
            Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => AuditChainHead.Genesis, TaskScheduler.Default);

        public Task AppendCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default) =>
            Task.Delay(Timeout.Infinite, cancellationToken);

        public IAsyncEnumerable<AuditCheckpoint> ReadCheckpointsAsync(long toSequence = long.MaxValue, CancellationToken cancellationToken = default) =>
            throw new IOException("store is down");
    }
}
