using System.Net;
using System.Net.Sockets;
using Airlock.Core.Egress;

namespace Airlock.Tests.Egress;

/// <summary>Answers host names from a table; unknown names fail like an NXDOMAIN. Never touches the network.</summary>
internal sealed class StubResolver(Dictionary<string, string[]> table) : IHostResolver
{
    public List<string> Asked { get; } = [];

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct)
    {
        Asked.Add(host);
        return table.TryGetValue(host, out var addresses)
            ? Task.FromResult(addresses.Select(IPAddress.Parse).ToArray())
            : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));
    }
}
