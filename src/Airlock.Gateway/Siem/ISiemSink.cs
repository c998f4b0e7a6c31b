using Airlock.Core.Audit;

namespace Airlock.Gateway.Siem;

/// <summary>
/// One SIEM destination. <see cref="SendAsync"/> delivers a batch or throws; the caller (<see cref="SiemSinkDelivery"/>)
/// retries with backoff, so a sink never retries on its own and never drops anything.
/// </summary>
public interface ISiemSink : IAsyncDisposable
{
    /// <summary>Configured name.</summary>
    string Name { get; }

    /// <summary>Delivers <paramref name="records"/> (oldest first); throws when the destination did not accept them.</summary>
    Task SendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken);
}

/// <summary>A destination refused or failed a delivery (status, timeout, connection).</summary>
public sealed class SiemDeliveryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SiemDeliveryException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public SiemDeliveryException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public SiemDeliveryException(string message)
        : base(message)
    {
    }
}
