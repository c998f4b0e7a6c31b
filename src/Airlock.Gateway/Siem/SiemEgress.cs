using System.Net;
using System.Net.Sockets;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Airlock.Gateway.Upstreams;

namespace Airlock.Gateway.Siem;

/// <summary>
/// The data-egress level applied to SIEM delivery, which is an outbound connection of the gateway like an upstream's
/// ("level 3: any other outbound connection attempt by the gateway is refused"): every connection a sink opens is checked
/// when it is opened, on the addresses it then dials (no rebinding around it). The startup and posture check of each
/// sink's host (<c>siem.&lt;name&gt;</c>) is <see cref="EgressEvaluator"/>'s.
/// </summary>
internal sealed class SiemEgress(AirlockConfig config, IHostResolver resolver)
{
    private readonly EgressRule _rule = EgressRule.For(config);

    /// <summary>The connect callback of an HTTP sink's handler: only the sink's own host, on addresses the level allows.</summary>
    public Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectCallback(SiemSinkConfig sink) =>
        new EgressConnectGuard(config, "siem:" + sink.Name, [sink.Url!], "the configured SIEM endpoint", resolver).ConnectAsync;

    /// <summary>The addresses a syslog sink may dial now: its host resolved once and every address checked.</summary>
    /// <exception cref="SiemDeliveryException">The level refuses an address, or the host does not resolve.</exception>
    public async Task<IPAddress[]> AddressesAsync(SiemSinkConfig sink, CancellationToken cancellationToken)
    {
        var host = HostOf(sink);
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await resolver.ResolveAsync(host, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new SiemDeliveryException($"syslog {host}:{sink.Port}: did not resolve ({ex.SocketErrorCode})", ex);
            }
        }
        if (_rule.Check(host, addresses) is { } reason)
        {
            throw new SiemDeliveryException($"syslog {host}:{sink.Port}: connection refused by the data-egress level: {reason}");
        }
        return [.. addresses.Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a)];
    }

    private static string HostOf(SiemSinkConfig sink)
    {
        var host = sink.Kind == SiemSinkKind.Syslog ? sink.Host! : sink.Url!.IdnHost;
        return host.Length > 2 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;
    }
}
