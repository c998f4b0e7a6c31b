using System.Threading.Channels;
using Airlock.Core.Audit;
using Microsoft.Extensions.Logging;

namespace Airlock.Gateway.Audit;

/// <summary>
/// Writes audit records off the request path in batches (one transaction per batch, so a burst of
/// requests costs one commit). The queue is bounded: when the store falls behind, requests wait
/// to enqueue rather than records being dropped. A failed batch is retried, never discarded.
/// On shutdown every queued record is written before the process exits, for at most <see cref="ShutdownTimeout"/>
/// (<c>audit.shutdown_timeout</c>): a store that is dead by then does not hold the process forever. Records not
/// committed by then go to the spool (replayed at the next start) or, without one, are logged as lost by count and
/// request id (<see cref="LostOnShutdown"/>; <c>airlock serve</c> then exits non-zero).
/// <para>
/// With a signing key, the writer also signs a checkpoint of the chain head every
/// <see cref="CheckpointInterval"/> while records keep arriving, and once more on shutdown: a rewrite
/// of the trail up to a checkpoint is then detectable by anyone holding the public key.
/// </para>
/// </summary>
public sealed partial class AuditWriter : IAsyncDisposable
{
    /// <summary>Most records one transaction carries.</summary>
    public const int MaxBatch = 2048;

    // Group commit: after the first record of a batch arrives, records arriving within this window share
    // its transaction. A commit costs ~0.1–0.2 ms on this store; at 1,000+ requests/s one commit per
    // record would occupy a core. The window delays durability, never the response.
    private static readonly TimeSpan GroupCommitWindow = TimeSpan.FromMilliseconds(5);

    // How often a non-empty spool is offered to the store again while no record arrives.
    private static readonly TimeSpan SpoolRetryInterval = TimeSpan.FromSeconds(1);
    private readonly IAuditStore _store;
    private readonly ILogger _logger;
    private readonly Channel<Entry> _queue;
    private readonly Task _loop;
    private readonly AuditSigningKey? _signingKey;
    private readonly Task _checkpoints = Task.CompletedTask;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _checkpointGate = new(1, 1);
    private long _enqueued;
    private long _written;
    private long _checkpointedAtWritten;
    private Lazy<Task>? _disposal;
    private volatile AuditStoreHealth _health = AuditStoreHealth.Ok;
    private readonly IAsyncDisposable? _ownedStore;
    private readonly AuditSpool? _spool;
    private readonly bool _spoolOnFailure;
    private readonly TimeProvider _time;
    private long _spooled;
    private long _lostOnShutdown;
    private long _spooledOnShutdown;

    // Cancelled when the shutdown timeout passes with records still uncommitted: the loop stops retrying.
    private readonly CancellationTokenSource _abandon = new();

    // The batch (and its waiters) the loop is committing: what the shutdown path takes over when it gives up on the store.
    private List<AuditRecord>? _inFlight;
    private List<TaskCompletionSource>? _inFlightWaiters;
    private List<JournalTicket>? _inFlightSettles;
    private long _journaledOnShutdown;
    private Task<bool>? _pendingWait;
    private DateTimeOffset? _spoolingSince;

    // Held by whoever commits: the loop, or a durable write committing inline (see WriteDurableAsync). One at a time
    // keeps the chain's order and the store's single writer.
    private readonly SemaphoreSlim _commitGate = new(1, 1);

    // Whether the spool may hold records not yet replayed into the store (kept here: AuditSpool.IsEmpty stats the file).
    // While it does, every record goes through the loop, which replays the spool first.
    private volatile bool _spoolHolds;

    // Set when disposal starts: no more inline commits (the loop drains what is queued).
    private volatile bool _stopRequested;

    /// <summary>
    /// Starts the writer loop (and, with a signing key, the checkpoint loop; the writer then owns the key). An owned
    /// store is disposed after the last record and checkpoint are written.
    /// </summary>
    /// <remarks>
    /// Records left in <c>spool</c> (by an earlier run) are replayed before anything else is written; with
    /// <c>spoolOnFailure</c> (<c>audit.on_store_failure: spool</c>), batches the store refuses go to the spool instead of
    /// waiting for the store.
    /// </remarks>
    public AuditWriter(IAuditStore store, ILogger<AuditWriter> logger, int capacity = 50_000, AuditSigningKey? signingKey = null,
        TimeSpan? checkpointInterval = null, IAsyncDisposable? ownedStore = null, AuditSpool? spool = null, bool spoolOnFailure = false,
        TimeProvider? time = null, TimeSpan? shutdownTimeout = null, AuditJournal? journal = null)
    {
        Journal = journal;
        if (spoolOnFailure && spool is null)
        {
            throw new ArgumentException("spooling on store failure needs a spool", nameof(spool));
        }
        _ownedStore = ownedStore;
        _spool = spool;
        _spoolOnFailure = spoolOnFailure;
        _time = time ?? TimeProvider.System;
        _store = store;
        _logger = logger;
        _signingKey = signingKey;
        CheckpointInterval = checkpointInterval ?? TimeSpan.FromSeconds(30);
        ShutdownTimeout = shutdownTimeout ?? DefaultShutdownTimeout;
        _spoolHolds = spool is { IsEmpty: false };
        _queue = Channel.CreateBounded<Entry>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _loop = Task.Run(RunAsync);
        if (signingKey is not null)
        {
            _checkpoints = Task.Run(CheckpointLoopAsync);
        }
    }

    private Action<IReadOnlyList<AuditRecord>>? _committed;

    /// <summary>
    /// Registers <paramref name="observer"/> to receive each batch right after its commit (SIEM delivery: only durable
    /// records are shipped). It runs on the writer loop, so it must return at once and never throw.
    /// </summary>
    public void ObserveCommitted(Action<IReadOnlyList<AuditRecord>> observer) => _committed += observer;

    /// <summary>Default of <see cref="ShutdownTimeout"/> (<c>audit.shutdown_timeout</c>).</summary>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long disposal waits for queued records to be committed before spooling or reporting them lost.</summary>
    public TimeSpan ShutdownTimeout { get; }

    /// <summary>Records neither committed nor spooled when the shutdown timeout passed (logged by count and request id).</summary>
    public long LostOnShutdown => Interlocked.Read(ref _lostOnShutdown);

    /// <summary>Records shutdown gave up on whose final entry is in the audit journal (recovered at the next start, not lost).</summary>
    public long JournaledOnShutdown => Interlocked.Read(ref _journaledOnShutdown);

    /// <summary>Records written to the spool at shutdown because the store did not take them in time.</summary>
    public long SpooledOnShutdown => Interlocked.Read(ref _spooledOnShutdown);

    /// <summary>How often the chain head is signed while records keep arriving.</summary>
    public TimeSpan CheckpointInterval { get; }

    /// <summary>Number of records written so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Whether the store is taking records (the pipeline refuses or spools while it is not).</summary>
    public AuditStoreHealth Health => _health;

    /// <summary>
    /// Whether new requests may be served: the store takes records, or it fails but records go to a spool that
    /// still has room (<c>audit.on_store_failure: spool</c>). False means refuse: a response could not be recorded.
    /// </summary>
    public bool TakesRecords => _health.Healthy || (_spoolOnFailure && !_spool!.Full);

    /// <summary>Records written to the spool so far (while the store failed).</summary>
    public long Spooled => Interlocked.Read(ref _spooled);

    /// <summary>The audit journal (<c>audit.durable: journal</c>), owned by the writer: disposed after the last commit.</summary>
    public AuditJournal? Journal { get; }

    /// <summary>Queues a record. Waits (never drops) when the queue is full.</summary>
    public ValueTask EnqueueAsync(AuditRecord record) => EnqueueAsync(record, null);

    /// <summary>
    /// Queues a record whose request has entries in the audit journal: <paramref name="journal"/> is settled once the record
    /// is committed to the store or fsync'd to the spool (not when shutdown gives up on it: recovery then finds it).
    /// Shares the group commit's window like any queued record.
    /// </summary>
    public ValueTask EnqueueAsync(AuditRecord record, JournalTicket? journal)
    {
        Interlocked.Increment(ref _enqueued);
        var entry = new Entry(record, null, journal);
        return _queue.Writer.TryWrite(entry) ? ValueTask.CompletedTask : _queue.Writer.WriteAsync(entry);
    }

    /// <summary>
    /// Queues a record and completes once it is committed to the store (chained, in a transaction that is on
    /// disk). Group commit keeps this cheap: a batch that carries a waiter is committed at once, without the
    /// batching window, and records arriving during that commit share the next one. While the store fails the
    /// task stays pending (the record is retried, never dropped): bound the wait with
    /// <paramref name="cancellationToken"/> and consult <see cref="Health"/> to refuse or spool instead.
    /// </summary>
    /// <exception cref="OperationCanceledException">The wait was cancelled; the record stays queued and will still be written.</exception>
    /// <remarks>
    /// When no one is committing, the caller commits on its own thread (with whatever is queued, in order, ahead of its
    /// record), sparing the two thread hops to the writer loop and back: at one request at a time that round trip was
    /// most of what durability cost. Under concurrency the others find the commit taken and queue, and their records
    /// share the next commit. A failed inline commit hands its records to the loop, which retries or spools them as
    /// it does for its own batches.
    /// </remarks>
    public Task WriteDurableAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _enqueued);
        if (CanCommitInline() && _commitGate.Wait(0, CancellationToken.None))
        {
            // Checked again under the gate: the loop may have started failing or spooling meanwhile.
            if (CanCommitInline())
            {
                // The commit is not cancelled with the wait: a caller that stops waiting leaves its record to be written.
                var commit = CommitInlineAsync(record);
                return commit.IsCompleted || !cancellationToken.CanBeCanceled ? commit : commit.WaitAsync(cancellationToken);
            }
            _commitGate.Release();
        }
        return QueueDurableAsync(new Entry(record, NewWaiter()), cancellationToken);
    }

    private static TaskCompletionSource NewWaiter() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Inline commits only while the store is healthy and the spool empty (recovery and ordering stay with the loop), and
    /// while the thread pool has no work waiting: under load the loop's batches share one commit among many requests,
    /// and a commit per request would cost throughput; at rest a request should not wait for two thread wake-ups.
    /// </summary>
    private bool CanCommitInline() => !_stopRequested && !_spoolHolds && _health.Healthy && ThreadPool.PendingWorkItemCount == 0;

    private async Task QueueDurableAsync(Entry entry, CancellationToken cancellationToken)
    {
        if (!_queue.Writer.TryWrite(entry))
        {
            await _queue.Writer.WriteAsync(entry, cancellationToken).ConfigureAwait(false);
        }
        await entry.Durable!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Commits <paramref name="record"/>, after everything already queued, on the caller's thread. Holds the commit gate.
    /// </summary>
    private async Task CommitInlineAsync(AuditRecord record)
    {
        // Queued entries keep their waiters (and their order, ahead of this record): whoever commits, commits them all.
        var entries = new List<Entry>(1);
        while (entries.Count < MaxBatch - 1 && _queue.Reader.TryRead(out var queued))
        {
            entries.Add(queued);
        }
        entries.Add(new Entry(record, null));
        var batch = new List<AuditRecord>(entries.Count);
        foreach (var entry in entries)
        {
            batch.Add(entry.Record);
        }
        List<Entry>? queueLater = null;
        TaskCompletionSource? own = null;
        try
        {
            if (await TryAppendInlineAsync(batch).ConfigureAwait(false))
            {
                foreach (var entry in entries)
                {
                    entry.Journal?.Settle();
                }
                Committed(batch);
            }
            else
            {
                own = NewWaiter();
                entries[^1] = entries[^1] with { Durable = own };
                queueLater = HandOver(entries);
            }
        }
        finally
        {
            _commitGate.Release();
        }
        if (own is null)
        {
            foreach (var entry in entries)
            {
                entry.Durable?.TrySetResult();
            }
            return;
        }
        if (queueLater is not null)
        {
            // The queue was full: the rest waits for room, as any durable write does.
            foreach (var entry in queueLater)
            {
                await _queue.Writer.WriteAsync(entry, CancellationToken.None).ConfigureAwait(false);
            }
        }
        await own.Task.ConfigureAwait(false);
    }

    private async Task<bool> TryAppendInlineAsync(List<AuditRecord> batch)
    {
        try
        {
            await _store.AppendAsync(batch, _abandon.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            MarkFailing(ex, batch.Count);
            return false;
        }
    }

    /// <summary>
    /// An inline commit failed: its records go back to the loop (which retries, or spools with
    /// <c>on_store_failure: spool</c>), under the commit gate. When shutdown has closed the queue they are spooled or
    /// reported lost at once, as the shutdown path does with the rest. Returns what a full queue did not take yet.
    /// </summary>
    private List<Entry>? HandOver(List<Entry> entries)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            if (_queue.Writer.TryWrite(entries[i]))
            {
                continue;
            }
            var left = entries.GetRange(i, entries.Count - i);
            if (!_queue.Reader.Completion.IsCompleted && !_stopRequested)
            {
                return left;
            }
            SettleUncommitted([.. left.Select(e => e.Record)], [.. left.Where(e => e.Durable is not null).Select(e => e.Durable!)],
                [.. left.Where(e => e.Journal is not null).Select(e => e.Journal!)]);
            return null;
        }
        return null;
    }

    /// <summary>Counts a committed batch and hands it to the observers (SIEM delivery); under the commit gate, so in order.</summary>
    private void Committed(List<AuditRecord> batch)
    {
        Interlocked.Add(ref _written, batch.Count);
        _committed?.Invoke([.. batch]);
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
        var waiters = new List<TaskCompletionSource>();
        var settles = new List<JournalTicket>();
        var reader = _queue.Reader;
        if (_spoolHolds)
        {
            // Records spooled by an earlier run go first (if the store takes them now; otherwise before the next batch).
            await TryReplaySpoolAsync().ConfigureAwait(false);
        }
        while (await WaitForRecordsAsync(reader).ConfigureAwait(false))
        {
            await _commitGate.WaitAsync().ConfigureAwait(false);
            try
            {
                Drain(reader, batch, waiters, settles);
                if (batch.Count == 0)
                {
                    // An inline commit took them.
                    continue;
                }
                // Someone waits for durability: commit now (records arriving meanwhile form the next batch).
                // Otherwise wait a little so a burst shares one commit. The gate stays held: a durable write arriving
                // meanwhile queues behind these records rather than committing ahead of them (the trail keeps the order
                // in which records were handed over).
                if (waiters.Count == 0 && batch.Count < MaxBatch && !reader.Completion.IsCompleted)
                {
                    await Task.Delay(GroupCommitWindow).ConfigureAwait(false);
                    Drain(reader, batch, waiters, settles);
                }
                _inFlight = batch;
                _inFlightWaiters = waiters;
                _inFlightSettles = settles;
                try
                {
                    await CommitAsync(batch, _abandon.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
                {
                    // Shutdown gave up on the store: StopAsync takes over the batch (in-flight fields stay set).
                    return;
                }
                _inFlight = null;
                _inFlightWaiters = null;
                _inFlightSettles = null;
                // Journal entries are released before the batch counts as written, so a flush sees their segments gone
                // (a release is a counter decrement, and a file delete once per segment).
                foreach (var settled in settles)
                {
                    settled.Settle();
                }
                Committed(batch);
            }
            finally
            {
                _commitGate.Release();
            }
            foreach (var waiter in waiters)
            {
                waiter.TrySetResult();
            }
            batch.Clear();
            waiters.Clear();
            settles.Clear();
        }
    }

    /// <summary>
    /// Waits for records. While the spool holds records the store has not taken yet, tries to replay it every second
    /// even when no record arrives, so the trail catches up (and the gap is recorded) as soon as the store is back.
    /// </summary>
    private async Task<bool> WaitForRecordsAsync(ChannelReader<Entry> reader)
    {
        while (_spoolHolds)
        {
            _pendingWait ??= reader.WaitToReadAsync().AsTask();
            if (await Task.WhenAny(_pendingWait, Task.Delay(SpoolRetryInterval)).ConfigureAwait(false) == _pendingWait)
            {
                break;
            }
            await TryReplaySpoolAsync().ConfigureAwait(false);
        }
        var wait = _pendingWait ?? reader.WaitToReadAsync().AsTask();
        _pendingWait = null;
        return await wait.ConfigureAwait(false);
    }

    /// <summary>
    /// Makes <paramref name="batch"/> durable: committed to the store or, while the store fails and spooling is on,
    /// fsync'd to the spool. Order is kept: while the spool holds records, it is replayed first and new batches join
    /// it until the replay succeeds. Never gives up on a batch (retries with backoff up to 5 s).
    /// </summary>
    private async Task CommitAsync(List<AuditRecord> batch, CancellationToken abandon)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            Exception? failure = null;
            if (!_spoolHolds || await TryReplaySpoolAsync().ConfigureAwait(false))
            {
                abandon.ThrowIfCancellationRequested();
                try
                {
                    await _store.AppendAsync(batch, abandon).ConfigureAwait(false);
                    MarkHealthy();
                    return;
                }
                catch (OperationCanceledException) when (abandon.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    failure = ex;
                }
            }
            if (failure is not null)
            {
                MarkFailing(failure, batch.Count);
            }
            // The store failed (now or in the replay, which marked it): spool, or keep the batch and retry.
            if (_spoolOnFailure && _spool!.TryAppend(batch))
            {
                _spoolHolds = true;
                _spoolingSince ??= _health.FailingSince ?? _time.GetUtcNow();
                Interlocked.Add(ref _spooled, batch.Count);
                return;
            }
            await Task.Delay(delay, abandon).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
        }
    }

    /// <summary>
    /// Replays the spool into the store in one transaction, followed by an admin record of the gap (failing since,
    /// until, records spooled), then empties the spool. True when the spool is empty afterwards. One transaction
    /// makes the replay idempotent: if the process dies between the commit and emptying the spool, the first spooled
    /// record is found in the store on the next attempt and the spool is just emptied.
    /// </summary>
    private async Task<bool> TryReplaySpoolAsync()
    {
        var spool = _spool!;
        try
        {
            var records = spool.ReadAll();
            if (records.Count == 0)
            {
                spool.Clear();
                _spoolHolds = false;
                return true;
            }
            var already = await _store.QueryAsync(new AuditQuery { RequestId = records[0].RequestId, Limit = 1 }).ConfigureAwait(false);
            if (already.Count == 0)
            {
                var until = _time.GetUtcNow();
                var since = _spoolingSince ?? records[0].Time;
                var gap = AdminActions.StoreGapRecord(since, until, records.Count);
                await _store.AppendAsync([.. records, gap]).ConfigureAwait(false);
                LogSpoolReplayed(_logger, records.Count, since, until);
            }
            spool.Clear();
            _spoolHolds = false;
            _spoolingSince = null;
            MarkHealthy();
            return true;
        }
        catch (InvalidDataException ex)
        {
            // A damaged spool is not replayed over the trail; it needs an operator (the message names file and line).
            MarkFailing(ex, 0);
            return false;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            MarkFailing(ex, 0);
            return false;
        }
    }

    private void MarkHealthy()
    {
        if (!_health.Healthy)
        {
            _health = AuditStoreHealth.Ok;
            LogStoreRecovered(_logger);
        }
    }

    private void MarkFailing(Exception ex, int count)
    {
        var failures = _health.ConsecutiveFailures + 1;
        _health = new AuditStoreHealth(false, failures, $"{ex.GetType().Name}: {ex.Message}", _health.FailingSince ?? _time.GetUtcNow());
        LogWriteFailed(_logger, count, ex.GetType().Name, ex.Message);
    }

    private static void Drain(ChannelReader<Entry> reader, List<AuditRecord> batch, List<TaskCompletionSource> waiters, List<JournalTicket>? settles = null, int max = MaxBatch)
    {
        while (batch.Count < max && reader.TryRead(out var entry))
        {
            batch.Add(entry.Record);
            if (entry.Durable is not null)
            {
                waiters.Add(entry.Durable);
            }
            if (entry.Journal is not null)
            {
                settles?.Add(entry.Journal);
            }
        }
    }

    /// <summary>A queued record, with whoever waits for its commit and the journal entries it settles.</summary>
    private readonly record struct Entry(AuditRecord Record, TaskCompletionSource? Durable, JournalTicket? Journal = null);

    /// <summary>
    /// Signs the current chain head and stores the checkpoint, unless nothing was written through this writer since
    /// the last one. Returns the checkpoint, or null when there was nothing new (or no signing key).
    /// </summary>
    public Task<AuditCheckpoint?> CheckpointAsync(CancellationToken cancellationToken = default) => CheckpointAsync(force: false, cancellationToken);

    /// <summary>
    /// Signs the current chain head now, even when nothing went through this writer since the last checkpoint: for
    /// records appended to the store directly (a purge record, which is an anchor only once a checkpoint covers it).
    /// </summary>
    public Task<AuditCheckpoint?> CheckpointHeadAsync(CancellationToken cancellationToken = default) => CheckpointAsync(force: true, cancellationToken);

    private async Task<AuditCheckpoint?> CheckpointAsync(bool force, CancellationToken cancellationToken)
    {
        if (_signingKey is null)
        {
            return null;
        }
        await _checkpointGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var written = Interlocked.Read(ref _written);
            if (written == _checkpointedAtWritten && !force)
            {
                return null;
            }
            // The head is read from the store, not from this writer: it covers what every writer has committed.
            var head = await _store.GetChainHeadAsync(cancellationToken).ConfigureAwait(false);
            if (head.Sequence == 0)
            {
                return null;
            }
            var checkpoint = _signingKey.Sign(head.Sequence, head.Hash.Span, _time.GetUtcNow());
            await _store.AppendCheckpointAsync(checkpoint, cancellationToken).ConfigureAwait(false);
            _checkpointedAtWritten = written;
            return checkpoint;
        }
        finally
        {
            _checkpointGate.Release();
        }
    }

    private async Task CheckpointLoopAsync()
    {
        using var timer = new PeriodicTimer(CheckpointInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    await CheckpointAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    LogCheckpointFailed(_logger, ex.GetType().Name, ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutdown: the final checkpoint is signed by DisposeAsync after the last batch.
        }
    }

    /// <summary>
    /// Stops accepting records, writes everything queued, and signs a final checkpoint. Safe to call more than
    /// once (the host's container and the gateway both dispose it): later calls wait for the first.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        var disposal = new Lazy<Task>(StopAsync);
        return new ValueTask((Interlocked.CompareExchange(ref _disposal, disposal, null) ?? disposal).Value);
    }

    private async Task StopAsync()
    {
        _stopRequested = true;
        _queue.Writer.TryComplete();
        var timeout = Task.Delay(ShutdownTimeout, _time);
        var committedAll = await Task.WhenAny(_loop, timeout).ConfigureAwait(false) == _loop;
        if (committedAll)
        {
            // An inline commit that started before the queue closed ends within the same bound (or is abandoned below:
            // its records are then spooled or reported lost by that commit, under the gate).
            var inline = _commitGate.WaitAsync();
            committedAll = await Task.WhenAny(inline, timeout).ConfigureAwait(false) == inline;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _checkpoints.ConfigureAwait(false);
        if (!committedAll)
        {
            await AbandonUncommittedAsync().ConfigureAwait(false);
        }
        else
        {
            try
            {
                // Bounded too: a store that fails now must not hold the exit.
                using var bound = new CancellationTokenSource(ShutdownTimeout, _time);
                await CheckpointAsync(bound.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogCheckpointFailed(_logger, ex.GetType().Name, ex.Message);
            }
        }
        _signingKey?.Dispose();
        // After the last commit: settled segments are gone, the rest wait for the next start's recovery.
        Journal?.Dispose();
        if (_ownedStore is not null)
        {
            await _ownedStore.DisposeAsync().ConfigureAwait(false);
        }
        _stopping.Dispose();
        _checkpointGate.Dispose();
        if (_loop.IsCompleted)
        {
            // A loop left inside a store call that ignored cancellation still holds the token.
            _abandon.Dispose();
        }
    }

    // After a store call that ignores cancellation, how long the loop is given to notice before its batch is taken over.
    private static readonly TimeSpan AbandonGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The shutdown timeout passed with records uncommitted: stops the loop's retries, then spools the in-flight batch
    /// and everything still queued (in order, after what the spool already holds) or, when there is no spool or it
    /// refuses them, logs them as lost by count and request id (never content).
    /// </summary>
    private async Task AbandonUncommittedAsync()
    {
        await _abandon.CancelAsync().ConfigureAwait(false);
        // A store call that honours cancellation returns at once; one that does not is left behind (the process is exiting).
        await Task.WhenAny(_loop, Task.Delay(AbandonGrace, _time)).ConfigureAwait(false);
        var uncommitted = new List<AuditRecord>();
        var waiters = new List<TaskCompletionSource>();
        var tickets = new List<JournalTicket>();
        if (_inFlight is { } inFlight)
        {
            uncommitted.AddRange(inFlight);
            waiters.AddRange(_inFlightWaiters ?? []);
            tickets.AddRange(_inFlightSettles ?? []);
        }
        // Journal entries of these records are not settled: the next start's recovery finds what the spool or store lacks.
        Drain(_queue.Reader, uncommitted, waiters, tickets, max: int.MaxValue);
        if (uncommitted.Count == 0)
        {
            return;
        }
        SettleUncommitted(uncommitted, waiters, tickets);
    }

    /// <summary>
    /// Records that shutdown gave up on: spooled (in order, after what the spool holds) or, when there is no spool or it
    /// refuses them, logged by count and request id (never content): as kept in the audit journal when their final entry
    /// is there (<paramref name="tickets"/>: the next start's recovery adds them; not a loss), else as lost. Their waiters
    /// learn which.
    /// </summary>
    private void SettleUncommitted(List<AuditRecord> uncommitted, List<TaskCompletionSource> waiters, List<JournalTicket> tickets)
    {
        var spooled = false;
        if (_spool is not null)
        {
            try
            {
                spooled = _spool.TryAppend(uncommitted);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogShutdownSpoolFailed(_logger, ex.GetType().Name);
            }
        }
        if (spooled)
        {
            Interlocked.Add(ref _spooledOnShutdown, uncommitted.Count);
            LogSpooledOnShutdown(_logger, uncommitted.Count, ShutdownTimeout, _spool!.Path);
        }
        else
        {
            var journaled = tickets.Where(t => t.FinalWritten).Select(t => t.RequestId).ToHashSet(StringComparer.Ordinal);
            var kept = uncommitted.Where(r => journaled.Contains(r.RequestId)).ToList();
            var lost = uncommitted.Where(r => !journaled.Contains(r.RequestId)).ToList();
            if (kept.Count > 0)
            {
                Interlocked.Add(ref _journaledOnShutdown, kept.Count);
                var keptIds = string.Join(' ', kept.Select(r => r.RequestId));
                LogJournaledOnShutdown(_logger, kept.Count, ShutdownTimeout, Journal?.Directory ?? "-", keptIds);
            }
            if (lost.Count > 0)
            {
                Interlocked.Add(ref _lostOnShutdown, lost.Count);
                // Request ids only: they let an operator match the loss to access logs; no record content is logged.
                var lostIds = string.Join(' ', lost.Select(r => r.RequestId));
                LogLostOnShutdown(_logger, lost.Count, ShutdownTimeout, lostIds);
            }
        }
        foreach (var waiter in waiters)
        {
            if (spooled)
            {
                waiter.TrySetResult();
            }
            else
            {
                waiter.TrySetException(new InvalidOperationException("the audit writer stopped before this record was committed"));
            }
        }
    }

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Audit store did not take {Count} record(s) within the shutdown timeout ({Timeout}); they were spooled to {Path} and are replayed at the next start")]
    private static partial void LogSpooledOnShutdown(ILogger logger, int count, TimeSpan timeout, string path);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Critical, Message = "Audit records LOST: {Count} record(s) were not committed within the shutdown timeout ({Timeout}) and no spool took them; request ids: {RequestIds}")]
    private static partial void LogLostOnShutdown(ILogger logger, int count, TimeSpan timeout, string requestIds);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "Audit store did not take {Count} record(s) within the shutdown timeout ({Timeout}); their final entries are in the audit journal {Directory} and the next start recovers them into the trail; request ids: {RequestIds}")]
    private static partial void LogJournaledOnShutdown(ILogger logger, int count, TimeSpan timeout, string directory, string requestIds);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Error, Message = "Audit spool could not be written at shutdown ({ErrorType})")]
    private static partial void LogShutdownSpoolFailed(ILogger logger, string errorType);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Audit store write of {Count} record(s) failed ({ErrorType}: {Reason}); retrying")]
    private static partial void LogWriteFailed(ILogger logger, int count, string errorType, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Audit store recovered; queued records are being written")]
    private static partial void LogStoreRecovered(ILogger logger);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Audit spool replayed: {Count} record(s) spooled while the store failed ({Since:o} to {Until:o})")]
    private static partial void LogSpoolReplayed(ILogger logger, int count, DateTimeOffset since, DateTimeOffset until);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Audit checkpoint failed ({ErrorType}: {Reason}); the next one covers the same records")]
    private static partial void LogCheckpointFailed(ILogger logger, string errorType, string reason);
}

/// <summary>Whether the audit store is taking records.</summary>
/// <param name="Healthy">True while appends succeed.</param>
/// <param name="ConsecutiveFailures">Failed attempts at the current batch (0 when healthy).</param>
/// <param name="LastError">Type and message of the last failure (never record content).</param>
/// <param name="FailingSince">When the current run of failures started.</param>
public sealed record AuditStoreHealth(bool Healthy, int ConsecutiveFailures, string? LastError, DateTimeOffset? FailingSince)
{
    /// <summary>The healthy state.</summary>
    public static AuditStoreHealth Ok { get; } = new(true, 0, null, null);
}
