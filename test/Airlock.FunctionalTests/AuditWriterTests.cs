using Airlock.Core.Audit;
using Airlock.Gateway.Audit;
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

        for (var i = 0; i < 1000; i++)
        {
            await writer.EnqueueAsync(Record(i));
        }
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1000, writer.Written);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => "r" + i), store.Stored.Select(r => r.RequestId));
        Assert.All(store.Batches, size => Assert.InRange(size, 1, 512));
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

    private sealed class RecordingStore : IAuditStore
    {
        private readonly Lock _gate = new();

        public List<AuditRecord> Stored { get; } = [];

        public List<int> Batches { get; } = [];

        public int FailuresLeft { get; set; }

        public TimeSpan Delay { get; init; }

        public TaskCompletionSource? Gate { get; init; }

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task AppendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken = default)
        {
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
    }
}
