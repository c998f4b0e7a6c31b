using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Airlock.Core.Egress;

namespace Airlock.FunctionalTests.Egress;

/// <summary>
/// A resolver the test controls: answers from a table it can change while the gateway runs (to model a DNS change
/// or a rebinding attack after startup) and records every question. Unknown names fail like NXDOMAIN. No network.
/// </summary>
internal sealed class SwitchableResolver : IHostResolver
{
    private readonly ConcurrentDictionary<string, IPAddress[]> _table = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<string> _asked = new();

    public IReadOnlyCollection<string> Asked => _asked;

    public SwitchableResolver Set(string host, params string[] addresses)
    {
        _table[host] = addresses.Select(IPAddress.Parse).ToArray();
        return this;
    }

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct)
    {
        _asked.Enqueue(host);
        return _table.TryGetValue(host, out var addresses)
            ? Task.FromResult(addresses)
            : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));
    }
}
