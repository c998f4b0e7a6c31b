using System.Net;

namespace Airlock.Core.Egress;

/// <summary>
/// Turns a host name into addresses. Egress checks and the connect guard resolve through this seam, so the
/// addresses checked are the addresses dialed, and tests can answer with addresses they control.
/// </summary>
public interface IHostResolver
{
    /// <summary>Every address <paramref name="host"/> resolves to (IPv4 and IPv6). Throws when it does not resolve.</summary>
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct);
}

/// <summary>The system resolver (<see cref="Dns"/>).</summary>
public sealed class DnsHostResolver : IHostResolver
{
    /// <summary>The shared instance.</summary>
    public static DnsHostResolver Instance { get; } = new();

    /// <inheritdoc/>
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct) => Dns.GetHostAddressesAsync(host, ct);
}
