using System.Globalization;
using System.Threading.Channels;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Gateway.Admin;
using Microsoft.Extensions.Logging;

namespace Airlock.Gateway.Siem;

/// <summary>What one sink's queue has done so far (status, tests).</summary>
/// <param name="Sink">Sink name.</param>
/// <param name="Delivered">Records the sink accepted.</param>
/// <param name="InMemory">Records waiting in memory.</param>
/// <param name="Spilled">Records waiting on disk.</param>
/// <param name="Dropped">Records neither queue nor spill could hold (each counted in a gap record).</param>
/// <param name="Failures">Failed delivery attempts.</param>
/// <param name="LastError">Last delivery error (never record content or secrets).</param>
public sealed record SiemSinkStatus(string Sink, long Delivered, long InMemory, long Spilled, long Dropped, long Failures, string? LastError);

/// <summary>
/// One sink's delivery: a bounded in-memory queue, a spill file behind it, and a loop that delivers batches with
/// retries. Records are offered by the audit writer after commit and never block it: when the memory queue is full
/// they go to the spill file, and once anything is spilled later records follow it there, so order is kept. When the
/// spill file is full too, records are counted, not silently lost: the count and time range become a <c>siem.gap</c>
/// admin record in the trail, which is itself delivered like any record.
/// </summary>
public sealed partial class SiemSinkDelivery : IAsyncDisposable
{
    private readonly ISiemSink _sink;
    private readonly SiemConfig _config;
    private readonly SiemSinkConfig _sinkConfig;
    private readonly Func<AuditRecord, ValueTask> _recordGap;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<AuditRecord> _memory;
    private readonly SiemSpillFile _spill;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _spillSignal = new(0);
    private readonly Task _loop;
    private bool _spilling;
    private long _inMemory;
    private long _delivered;
    private long _dropped;
    private long _failures;
    private string? _lastError;
    private long _gapCount;
    private DateTimeOffset _gapFrom;
    private DateTimeOffset _gapTo;

    /// <summary>Starts the delivery loop; a spill file left by a previous run is delivered first.</summary>
    public SiemSinkDelivery(ISiemSink sink, SiemConfig config, SiemSinkConfig sinkConfig, string spillDir, Func<AuditRecord, ValueTask> recordGap,
        ILogger logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(sinkConfig);
        _sink = sink;
        _config = config;
        _sinkConfig = sinkConfig;
        _recordGap = recordGap;
        _logger = logger;
        _time = time;
        _memory = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(config.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _spill = new SiemSpillFile(Path.Combine(spillDir, sinkConfig.Name + ".spill.jsonl"), config.SpillMaxBytes);
        _spill.CountExisting();
        _spilling = !_spill.IsDrained;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Sink name.</summary>
    public string Name => _sink.Name;

    /// <summary>Current counters.</summary>
    public SiemSinkStatus Status
    {
        get
        {
            lock (_gate)
            {
                return new SiemSinkStatus(Name, Interlocked.Read(ref _delivered), Interlocked.Read(ref _inMemory), _spill.Pending,
                    Interlocked.Read(ref _dropped), Interlocked.Read(ref _failures), _lastError);
            }
        }
    }

    /// <summary>Takes a committed record; never blocks on the sink.</summary>
    public void Offer(AuditRecord record)
    {
        lock (_gate)
        {
            if (!_spilling && _memory.Writer.TryWrite(record))
            {
                Interlocked.Increment(ref _inMemory);
                return;
            }
            if (_spill.TryAppend(record))
            {
                _spilling = true;
                _spillSignal.Release();
                return;
            }
            // Neither memory nor disk can hold it: count it for the gap record.
            if (_gapCount == 0)
            {
                _gapFrom = record.Time;
            }
            _gapCount++;
            _gapTo = record.Time;
            Interlocked.Increment(ref _dropped);
        }
    }

    private async Task RunAsync()
    {
        var token = _stopping.Token;
        var attempt = 0;
        List<AuditRecord>? batch = null;
        var fromSpill = false;
        long spillEnd = 0;
        Task<bool>? memoryReady = null;
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (batch is null)
                {
                    (batch, fromSpill, spillEnd) = Next();
                    if (batch is null)
                    {
                        await RecordGapAsync().ConfigureAwait(false);
                        // Nothing to send: wait for memory records or a spill signal (polling bounds a missed signal).
                        // One pending memory wait at a time, kept across polls (a new one per poll would pile up).
                        if (memoryReady is null || memoryReady.IsCompleted)
                        {
                            memoryReady = _memory.Reader.WaitToReadAsync(token).AsTask();
                        }
                        var spillReady = _spillSignal.WaitAsync(TimeSpan.FromMilliseconds(250), token);
                        await Task.WhenAny(memoryReady, spillReady).ConfigureAwait(false);
                        continue;
                    }
                }
                await _sink.SendAsync(batch, token).ConfigureAwait(false);
                Interlocked.Add(ref _delivered, batch.Count);
                if (fromSpill)
                {
                    lock (_gate)
                    {
                        _spill.Acknowledge(spillEnd, batch.Count);
                        if (_spill.IsDrained)
                        {
                            _spilling = false;
                        }
                    }
                }
                if (attempt > 0)
                {
                    LogRecovered(_logger, Name, attempt);
                }
                attempt = 0;
                batch = null;
                await RecordGapAsync().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                attempt++;
                Interlocked.Increment(ref _failures);
                lock (_gate)
                {
                    _lastError = ex.Message;
                    // The batch waits for a retry; what keeps arriving meanwhile should survive a crash too.
                    _spill.Flush();
                }
                LogDeliveryFailed(_logger, Name, batch?.Count ?? 0, attempt, ex.Message);
                await RecordGapAsync().ConfigureAwait(false);
                try
                {
                    await Task.Delay(Backoff(attempt), _time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        // Shutdown: whatever was not delivered goes to the spill file for the next run.
        lock (_gate)
        {
            if (batch is not null && !fromSpill)
            {
                foreach (var record in batch)
                {
                    SpillOnShutdown(record);
                }
            }
            while (_memory.Reader.TryRead(out var record))
            {
                Interlocked.Decrement(ref _inMemory);
                SpillOnShutdown(record);
            }
            _spill.Flush();
        }
    }

    private void SpillOnShutdown(AuditRecord record)
    {
        if (!_spill.TryAppend(record))
        {
            Interlocked.Increment(ref _dropped);
            _gapCount++;
        }
    }

    /// <summary>The next batch: memory first (it is older than anything spilled), then the spill file.</summary>
    private (List<AuditRecord>? Batch, bool FromSpill, long SpillEnd) Next()
    {
        var batch = new List<AuditRecord>();
        while (batch.Count < _sinkConfig.BatchSize && _memory.Reader.TryRead(out var record))
        {
            batch.Add(record);
            Interlocked.Decrement(ref _inMemory);
        }
        if (batch.Count > 0)
        {
            return (batch, false, 0);
        }
        lock (_gate)
        {
            if (!_spilling)
            {
                return (null, false, 0);
            }
            var spilled = _spill.Peek(_sinkConfig.BatchSize, out var end);
            if (spilled.Count == 0)
            {
                // Only corrupt lines (or nothing): move past them.
                _spill.Acknowledge(end, 0);
                _spilling = !_spill.IsDrained;
                return (null, false, 0);
            }
            return (spilled, true, end);
        }
    }

    /// <summary>
    /// Writes the pending gap as an admin record once there is room again for it to be delivered (the spill is below
    /// half its bound), so a sink that stays down does not turn every retry into another dropped gap record.
    /// </summary>
    private async Task RecordGapAsync()
    {
        long count;
        DateTimeOffset from, to;
        lock (_gate)
        {
            if (_gapCount == 0 || _spill.Length > _config.SpillMaxBytes / 2)
            {
                return;
            }
            (count, from, to) = (_gapCount, _gapFrom, _gapTo);
            _gapCount = 0;
        }
        LogGap(_logger, Name, count, from, to);
        await _recordGap(new AuditRecord
        {
            Kind = AuditKind.Admin,
            RequestId = "siem_gap_" + Guid.NewGuid().ToString("N"),
            Time = _time.GetUtcNow(),
            Door = "siem",
            Operation = "siem.gap",
            Outcome = AuditOutcome.Ok,
            ErrorType = "siem_gap",
            Detail = AdminRecords.Detail(string.Create(CultureInfo.InvariantCulture,
                $"sink={Name} dropped={count} from={from.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} to={to.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} reason=queue_and_spill_full")),
        }).ConfigureAwait(false);
    }

    /// <summary>Exponential backoff with jitter: a random delay between half and all of initial × 2^(attempt-1), capped.</summary>
    private TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(_config.RetryMax.TotalMilliseconds, _config.RetryInitial.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 20)));
        return TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2);
    }

    /// <summary>Stops the loop; undelivered records are spilled for the next run.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        long lost;
        lock (_gate)
        {
            lost = _gapCount;
        }
        if (lost > 0)
        {
            // The writer has stopped, so this gap cannot be recorded in the trail: it is at least loud.
            LogGapAtShutdown(_logger, Name, lost);
        }
        await _sink.DisposeAsync().ConfigureAwait(false);
        _spill.Dispose();
        _stopping.Dispose();
        _spillSignal.Dispose();
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "SIEM sink {Sink}: delivery of {Count} record(s) failed (attempt {Attempt}): {Reason}; retrying")]
    private static partial void LogDeliveryFailed(ILogger logger, string sink, int count, int attempt, string reason);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "SIEM sink {Sink}: delivering again after {Attempts} failed attempt(s)")]
    private static partial void LogRecovered(ILogger logger, string sink, int attempts);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "SIEM sink {Sink}: {Count} record(s) from {From} to {To} could not be queued or spilled; a siem.gap record is written")]
    private static partial void LogGap(ILogger logger, string sink, long count, DateTimeOffset from, DateTimeOffset to);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Error, Message = "SIEM sink {Sink}: {Count} record(s) could not be spilled at shutdown and will not be delivered")]
    private static partial void LogGapAtShutdown(ILogger logger, string sink, long count);
}
