using System.Threading.Channels;

namespace Airlock.Core.Audit.Capture;

/// <summary>One request's content, handed over by the pipeline once the request has ended.</summary>
/// <param name="RequestId">The audit record's request id.</param>
/// <param name="Time">The request's time (chooses the data-key period).</param>
/// <param name="User">Key owner.</param>
/// <param name="Team">Key team.</param>
/// <param name="Content">The content (mode, response; the request as text when already decoded).</param>
/// <param name="RequestUtf8">The request body bytes, decoded into <see cref="CapturedContent.Request"/> off the request path.</param>
public sealed record ContentCaptureItem(string RequestId, DateTimeOffset Time, string? User, string? Team, CapturedContent Content, byte[]? RequestUtf8 = null)
{
    /// <summary>Approximate memory held while queued.</summary>
    public long Size => (RequestUtf8?.Length ?? 0) + 2L * ((Content.Request?.Length ?? 0) + (Content.Response?.Length ?? 0)) + 256;

    /// <summary>The content with the request decoded.</summary>
    public CapturedContent Decoded() => RequestUtf8 is null ? Content : Content with { Request = System.Text.Encoding.UTF8.GetString(RequestUtf8) };
}

/// <summary>
/// Seals and stores captured content off the request path: the pipeline only enqueues (a bounded channel, never
/// waiting); one background loop encrypts batches under the period's data key and writes them. When the queue holds
/// more than <see cref="MaxQueuedBytes"/>, new content is refused and counted in <see cref="Dropped"/> (and reported
/// through <c>onDrop</c>), never blocking a request. A failing store is retried with backoff while the queue absorbs
/// new items; content is plaintext only in this process's memory, never on disk or in a log.
/// </summary>
public sealed class ContentCaptureWriter : IAsyncDisposable
{
    private const int MaxBatch = 256;
    private readonly Channel<ContentCaptureItem> _queue = Channel.CreateUnbounded<ContentCaptureItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IAuditContentStore _store;
    private readonly DataKeyRing _keys;
    private readonly Action<string>? _onProblem;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private long _queuedBytes;
    private long _pending;
    private long _stored;
    private long _dropped;

    /// <param name="store">Where sealed content goes.</param>
    /// <param name="keys">The period keys.</param>
    /// <param name="onProblem">Told (without content) when content is dropped or a write fails.</param>
    /// <param name="maxQueuedBytes">Memory bound of the queue.</param>
    public ContentCaptureWriter(IAuditContentStore store, DataKeyRing keys, Action<string>? onProblem = null, long maxQueuedBytes = 256L * 1024 * 1024)
    {
        _store = store;
        _keys = keys;
        _onProblem = onProblem;
        MaxQueuedBytes = maxQueuedBytes;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Memory bound of the queue, in bytes.</summary>
    public long MaxQueuedBytes { get; }

    /// <summary>Contents stored so far.</summary>
    public long Stored => Interlocked.Read(ref _stored);

    /// <summary>Contents refused because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Hands <paramref name="item"/> over without waiting; false (counted, reported) when the queue is full.</summary>
    public bool TryEnqueue(ContentCaptureItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (Interlocked.Add(ref _queuedBytes, item.Size) > MaxQueuedBytes)
        {
            Interlocked.Add(ref _queuedBytes, -item.Size);
            var dropped = Interlocked.Increment(ref _dropped);
            _onProblem?.Invoke($"content capture queue is full ({MaxQueuedBytes} bytes): content of request {item.RequestId} was not captured ({dropped} dropped so far)");
            return false;
        }
        Interlocked.Increment(ref _pending);
        if (!_queue.Writer.TryWrite(item))
        {
            Interlocked.Add(ref _queuedBytes, -item.Size);
            Interlocked.Decrement(ref _pending);
            Interlocked.Increment(ref _dropped);
            return false;
        }
        return true;
    }

    /// <summary>Waits until everything enqueued so far is stored (tests, shutdown).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        while (Interlocked.Read(ref _pending) > 0 && !_loop.IsCompleted)
        {
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<ContentCaptureItem>(MaxBatch);
        var backoff = TimeSpan.FromMilliseconds(100);
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                while (batch.Count < MaxBatch && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }
                try
                {
                    var sealedItems = new List<SealedContent>(batch.Count);
                    foreach (var item in batch)
                    {
                        var period = ContentSealer.PeriodOf(item.Time);
                        var key = await _keys.GetSealingKeyAsync(period, _stopping.Token).ConfigureAwait(false);
                        sealedItems.Add(ContentSealer.Seal(key, period, item.RequestId, item.Time, item.User, item.Team, item.Decoded()));
                    }
                    await _store.AppendContentAsync(sealedItems, _stopping.Token).ConfigureAwait(false);
                    Interlocked.Add(ref _stored, batch.Count);
                    Interlocked.Add(ref _queuedBytes, -batch.Sum(i => i.Size));
                    Interlocked.Add(ref _pending, -batch.Count);
                    batch.Clear();
                    backoff = TimeSpan.FromMilliseconds(100);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
                {
                    // Keep the batch and retry: the queue's byte bound protects memory meanwhile. Only the type is
                    // reported; a message could quote what failed to be written.
                    _onProblem?.Invoke($"content capture write failed ({ex.GetType().Name}); retrying in {backoff.TotalMilliseconds:0} ms");
                    await Task.Delay(backoff, _stopping.Token).ConfigureAwait(false);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>Stores what is queued (bounded wait), then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        using (var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await FlushAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _onProblem?.Invoke($"content capture stopped with {Interlocked.Read(ref _pending)} contents not stored");
            }
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
        _stopping.Dispose();
    }
}
