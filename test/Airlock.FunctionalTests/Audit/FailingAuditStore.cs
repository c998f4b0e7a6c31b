using Airlock.Core.Audit;

namespace Airlock.FunctionalTests.Audit;

/// <summary>
/// A real store whose appends can be made to fail as a full disk does (<see cref="IOException"/> with ENOSPC's
/// message and code): what the audit writer sees when the database's disk fills up.
/// </summary>
internal sealed class FailingAuditStore(IAuditStore inner) : IAuditStore
{
    private const int Enospc = 28;
    // A test that fails before healing the store must not hang its disposal (the writer retries until the record is
    // written): the failure heals itself after this long.
    private static readonly TimeSpan SafetyLimit = TimeSpan.FromMinutes(3);
    private volatile bool _failing;
    private long _failUntilTicks;
    private int _failedAppends;

    /// <summary>While true, every append throws (for at most three minutes).</summary>
    public bool Failing
    {
        get => _failing && DateTime.UtcNow.Ticks < Interlocked.Read(ref _failUntilTicks);
        set
        {
            Interlocked.Exchange(ref _failUntilTicks, (DateTime.UtcNow + SafetyLimit).Ticks);
            _failing = value;
        }
    }

    /// <summary>Appends refused so far.</summary>
    public int FailedAppends => Volatile.Read(ref _failedAppends);

    public Task AppendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken = default)
    {
        if (Failing)
        {
            Interlocked.Increment(ref _failedAppends);
            throw new IOException("No space left on device", Enospc);
        }
        return inner.AppendAsync(records, cancellationToken);
    }

    public IAsyncEnumerable<AuditRecord> ReadAsync(AuditQuery query, CancellationToken cancellationToken = default) => inner.ReadAsync(query, cancellationToken);

    public Task<AuditChainHead> GetChainHeadAsync(CancellationToken cancellationToken = default) => inner.GetChainHeadAsync(cancellationToken);

    public Task AppendCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default) =>
        Failing ? throw new IOException("No space left on device", Enospc) : inner.AppendCheckpointAsync(checkpoint, cancellationToken);

    public IAsyncEnumerable<AuditCheckpoint> ReadCheckpointsAsync(long toSequence = long.MaxValue, CancellationToken cancellationToken = default) =>
        inner.ReadCheckpointsAsync(toSequence, cancellationToken);
}
