using System.Threading.Channels;
using Airlock.Core.Audit;
using Microsoft.Extensions.Logging;

namespace Airlock.Gateway.Audit;

/// <summary>
/// Writes audit records off the request path in batches (one transaction per batch, so a burst of
/// requests costs one commit). The queue is bounded: when the store falls behind, requests wait
/// to enqueue rather than records being dropped. A failed batch is retried, never discarded.
/// On shutdown every queued record is written before the process exits.
/// </summary>
public sealed partial class AuditWriter : IAsyncDisposable
{
    private const int MaxBatch = 512;

    // Group commit: after the first record of a batch arrives, records arriving within this window share
    // its transaction. A commit costs ~0.1–0.2 ms on this store; at 1,000+ requests/s one commit per
    // record would occupy a core. The window delays durability, never the response.
    private static readonly TimeSpan GroupCommitWindow = TimeSpan.FromMilliseconds(5);
    private readonly IAuditStore _store;
    private readonly ILogger _logger;
    private readonly Channel<AuditRecord> _queue;
    private readonly Task _loop;
    private long _enqueued;
    private long _written;

    /// <summary>Starts the writer loop.</summary>
    public AuditWriter(IAuditStore store, ILogger<AuditWriter> logger, int capacity = 50_000)
    {
        _store = store;
        _logger = logger;
        _queue = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Number of records written so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Queues a record. Waits (never drops) when the queue is full.</summary>
    public ValueTask EnqueueAsync(AuditRecord record)
    {
        Interlocked.Increment(ref _enqueued);
        return _queue.Writer.TryWrite(record) ? ValueTask.CompletedTask : _queue.Writer.WriteAsync(record);
    }

    /// <summary>Waits until every record queued before the call is written (tests, shutdown).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var target = Interlocked.Read(ref _enqueued);
        while (Interlocked.Read(ref _written) < target)
        {
            if (_loop.IsCompleted)
            {
                throw new InvalidOperationException("audit writer has stopped");
            }
            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RunAsync()
    {
        var batch = new List<AuditRecord>(MaxBatch);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && reader.TryRead(out var record))
            {
                batch.Add(record);
            }
            if (batch.Count < MaxBatch && !reader.Completion.IsCompleted)
            {
                await Task.Delay(GroupCommitWindow).ConfigureAwait(false);
                while (batch.Count < MaxBatch && reader.TryRead(out var record))
                {
                    batch.Add(record);
                }
            }
            var delay = TimeSpan.FromMilliseconds(50);
            while (true)
            {
                try
                {
                    await _store.AppendAsync(batch).ConfigureAwait(false);
                    break;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Keep the batch and retry: an audit record is never dropped because the store hiccupped.
                    LogWriteFailed(_logger, batch.Count, ex.GetType().Name, ex.Message);
                    await Task.Delay(delay).ConfigureAwait(false);
                    delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
                }
            }
            Interlocked.Add(ref _written, batch.Count);
            batch.Clear();
        }
    }

    /// <summary>Stops accepting records and writes everything queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Audit store write of {Count} record(s) failed ({ErrorType}: {Reason}); retrying")]
    private static partial void LogWriteFailed(ILogger logger, int count, string errorType, string reason);
}
