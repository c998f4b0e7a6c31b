using Airlock.Core.Audit;
using Airlock.Gateway.Audit;
using Airlock.Storage.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Airlock.FunctionalTests;

/// <summary>The batched audit writer: off the request path, but never drops a record.</summary>
public sealed class AuditWriterTests
{
    private static AuditRecord Record(int i) => new()
    {
        RequestId = "r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Time = DateTimeOffset.UnixEpoch.AddSeconds(i),
        Door = "messages",
        Operation = "messages",
        Outcome = AuditOutcome.Ok,
    };

    [Fact]
    public async Task Flush_waits_until_every_queued_record_is_stored_in_order()
    {
        var store = new RecordingStore();
        await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance);

        const int Count = AuditWriter.MaxBatch * 2 + 100;
        for (var i = 0; i < Count; i++)
        {
            await writer.EnqueueAsync(Record(i));
        }
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(Count, writer.Written);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => "r" + i), store.Stored.Select(r => r.RequestId));
        Assert.All(store.Batches, size => Assert.InRange(size, 1, AuditWriter.MaxBatch));
    }

    [Fact]
    public async Task Failed_batches_are_retried_not_dropped()
    {
        var store = new RecordingStore { FailuresLeft = 3 };
        await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance);

        await writer.EnqueueAsync(Record(1));
        await writer.EnqueueAsync(Record(2));
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, store.FailuresLeft);
        Assert.Equal(["r1", "r2"], store.Stored.Select(r => r.RequestId));
    }

    [Fact]
    public async Task Dispose_writes_everything_still_queued()
    {
        var store = new RecordingStore { Delay = TimeSpan.FromMilliseconds(20) };
        var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance);
        for (var i = 0; i < 300; i++)
        {
            await writer.EnqueueAsync(Record(i));
        }

        await writer.DisposeAsync();

        Assert.Equal(300, store.Stored.Count);
    }

    [Fact]
    public async Task A_full_queue_makes_callers_wait_instead_of_dropping()
    {
        var store = new RecordingStore { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance, capacity: 2);

        await writer.EnqueueAsync(Record(0));
        await store.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // The writer holds record 0 in a blocked batch; two more fill the queue; the next one must wait.
        await writer.EnqueueAsync(Record(1));
        await writer.EnqueueAsync(Record(2));
        var fourth = writer.EnqueueAsync(Record(3)).AsTask();
        await Task.Delay(100);
        Assert.False(fourth.IsCompleted);

        store.Gate.SetResult();
        await fourth.WaitAsync(TimeSpan.FromSeconds(10));
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["r0", "r1", "r2", "r3"], store.Stored.Select(r => r.RequestId));
    }

    [Fact]
    public async Task A_durable_write_completes_only_after_its_batch_is_committed()
    {
        var store = new RecordingStore { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance);

        var durable = writer.WriteDurableAsync(Record(1));
        await store.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(50);

        Assert.False(durable.IsCompleted);
        Assert.Empty(store.Stored);
        store.Gate.SetResult();
        await durable.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["r1"], store.Stored.Select(r => r.RequestId));
    }

    [Fact]
    public async Task A_durable_write_to_an_idle_writer_is_committed_on_the_callers_thread()
    {
        var store = new RecordingStore();
        await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance);

        // Idle means no commit in progress and no work waiting in the thread pool (other tests run in parallel and
        // may keep it busy for a moment): the first write made while idle commits before the call returns.
        for (var i = 0; i < 200; i++)
        {
            var caller = Environment.CurrentManagedThreadId;
            var durable = writer.WriteDurableAsync(Record(i));
            if (durable.IsCompletedSuccessfully)
            {
                // No hop to the writer loop and back: the store (synchronous here) committed on the caller's thread.
                Assert.Equal(caller, store.Threads[^1]);
                Assert.Equal("r" + i, store.Stored[^1].RequestId);
                Assert.Equal(i + 1, writer.Written);
                return;
            }
            await durable.WaitAsync(TimeSpan.FromSeconds(10));
            await Task.Delay(20);
        }
        Assert.Fail("no durable write was committed inline in 200 attempts");
    }

    [Fact]
    public async Task Durable_writes_arriving_during_an_inline_commit_share_the_next_commit_in_order()
    {
        var store = new RecordingStore { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance);

        var first = writer.WriteDurableAsync(Record(1));
        await store.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // The first commit holds the store: these two queue and wait for it.
        var second = writer.WriteDurableAsync(Record(2));
        var third = writer.WriteDurableAsync(Record(3));
        await Task.Delay(50);
        Assert.False(first.IsCompleted || second.IsCompleted || third.IsCompleted);

        store.Gate.SetResult();
        await Task.WhenAll(first, second, third).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["r1", "r2", "r3"], store.Stored.Select(r => r.RequestId));
        Assert.Equal([1, 2], store.Batches);
    }

    [Fact]
    public async Task An_inline_commit_that_fails_is_handed_to_the_loop_and_retried()
    {
        var store = new RecordingStore { FailuresLeft = 1 };
        await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance);

        await writer.WriteDurableAsync(Record(1)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, store.Threads.Count);
        Assert.Equal(["r1"], store.Stored.Select(r => r.RequestId));
        Assert.True(writer.Health.Healthy);
        Assert.Equal(1, writer.Written);
    }

    [Fact]
    public async Task A_durable_write_while_the_spool_holds_records_is_stored_after_them()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "airlock-inline-spool-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        try
        {
            var spool = new AuditSpool(Path.Combine(dataDir, AuditSpool.FileName), 1 << 20);
            Assert.True(spool.TryAppend([Record(1)]));
            var store = new RecordingStore();
            await using (var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance, spool: spool, spoolOnFailure: true))
            {
                await writer.WriteDurableAsync(Record(2)).WaitAsync(TimeSpan.FromSeconds(10));
            }
            // The spooled record, the gap record for it, then the new one.
            Assert.Equal("r1", store.Stored[0].RequestId);
            Assert.Equal("r2", store.Stored[^1].RequestId);
            Assert.True(spool.IsEmpty);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task Health_reports_a_failing_store_and_its_recovery_and_durable_writers_wait_through_it()
    {
        var store = new RecordingStore { FailuresLeft = 3 };
        await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance);
        Assert.True(writer.Health.Healthy);

        var durable = writer.WriteDurableAsync(Record(1));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (writer.Health.Healthy && !durable.IsCompleted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }
        var failing = writer.Health;
        await durable.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(failing.Healthy);
        Assert.Contains("disk hiccup", failing.LastError, StringComparison.Ordinal);
        Assert.NotNull(failing.FailingSince);
        Assert.True(writer.Health.Healthy);
        Assert.Equal(0, writer.Health.ConsecutiveFailures);
        Assert.Equal(["r1"], store.Stored.Select(r => r.RequestId));
    }

    [Fact]
    public async Task A_cancelled_durable_wait_still_writes_the_record()
    {
        var store = new RecordingStore { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.WriteDurableAsync(Record(7), cancel.Token));
        store.Gate.SetResult();
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["r7"], store.Stored.Select(r => r.RequestId));
    }

    [Fact]
    public async Task Durable_writes_on_sqlite_are_chained_and_group_committed()
    {
        using var temp = new TempDataDirectory("airlock-durable-");
        var dataDir = temp.Path;
        using var store = await SqliteStore.OpenAsync(dataDir);
        await using (var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance))
        {
            await Task.WhenAll(Enumerable.Range(0, 200).Select(i => writer.WriteDurableAsync(Record(i))));
            // Every durable write returned: each record is already readable, without a flush.
            Assert.Equal(200, (await store.QueryAsync(new AuditQuery { Limit = 1000 })).Count);
        }
        var verification = await AuditChainVerifier.VerifyStoreAsync(store, trustedKey: null);
        Assert.True(verification.Intact, verification.Fault?.ToString());
        Assert.Equal(200, verification.Records);
    }

    [Fact]
    public async Task Checkpoints_are_signed_periodically_and_on_shutdown_over_the_stored_head()
    {
        using var temp = new TempDataDirectory("airlock-writer-");
        var dataDir = temp.Path;
        using var store = await SqliteStore.OpenAsync(dataDir);
        var key = AuditSigningKey.LoadOrCreate(Path.Combine(dataDir, AuditSigningKey.FileName));
        var publicKey = key.PublicKey;
        var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance, signingKey: key, checkpointInterval: TimeSpan.FromMilliseconds(50));
        for (var i = 0; i < 20; i++)
        {
            await writer.EnqueueAsync(Record(i));
        }
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var periodic = await WaitForCheckpointAsync(store, 20);
        for (var i = 20; i < 30; i++)
        {
            await writer.EnqueueAsync(Record(i));
        }
        await writer.DisposeAsync();
        var final = await WaitForCheckpointAsync(store, 30);

        var verification = await AuditChainVerifier.VerifyStoreAsync(store, publicKey);

        Assert.Equal(20, periodic.Sequence);
        Assert.Equal(30, final.Sequence);
        Assert.True(verification.Intact, verification.Fault?.ToString());
        Assert.Equal(30, verification.Records);
        Assert.True(verification.Checkpoints >= 2);
        Assert.Null(await new AuditWriter(store, NullLogger<AuditWriter>.Instance).CheckpointAsync());
    }

    private static async Task<AuditCheckpoint> WaitForCheckpointAsync(SqliteStore store, long sequence)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            await foreach (var checkpoint in store.ReadCheckpointsAsync())
            {
                if (checkpoint.Sequence == sequence)
                {
                    return checkpoint;
                }
            }
            Assert.True(DateTime.UtcNow < deadline, $"no checkpoint at seq {sequence}");
            await Task.Delay(20);
        }
    }

    private sealed class RecordingStore : IAuditStore
    {
        private readonly Lock _gate = new();

        public List<AuditRecord> Stored { get; } = [];

        public List<int> Batches { get; } = [];

        /// <summary>The managed thread of every append attempt.</summary>
        public List<int> Threads { get; } = [];

        public int FailuresLeft { get; set; }

        public TimeSpan Delay { get; init; }

        public TaskCompletionSource? Gate { get; init; }

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task AppendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                Threads.Add(Environment.CurrentManagedThreadId);
            }
            Entered.TrySetResult();
            if (Gate is not null)
            {
                await Gate.Task;
            }
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, cancellationToken);
            }
            lock (_gate)
            {
                if (FailuresLeft > 0)
                {
                    FailuresLeft--;
                    throw new IOException("disk hiccup");
                }
                Stored.AddRange(records);
                Batches.Add(records.Count);
            }
        }

        public Task<IReadOnlyList<AuditRecord>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<AuditRecord>>([.. Stored]);

        public async IAsyncEnumerable<AuditRecord> ReadAsync(AuditQuery query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var record in await QueryAsync(query, cancellationToken))
            {
                yield return record;
            }
        }

        public Task<AuditChainHead> GetChainHeadAsync(CancellationToken cancellationToken = default) => Task.FromResult(AuditChainHead.Genesis);

        public Task AppendCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public async IAsyncEnumerable<AuditCheckpoint> ReadCheckpointsAsync(long toSequence = long.MaxValue, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.CompletedTask;
            yield break;
        }
    }
}
