using System.Net;
using System.Net.Sockets;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Airlock.Gateway.Upstreams;

namespace Airlock.Gateway.Siem;

/// <summary>
/// The data-egress level applied to SIEM delivery, which is an outbound connection of the gateway like an upstream's
/// ("level 3: any other outbound connection attempt by the gateway is refused"): at startup, each sink's host is checked
/// against the level's <see cref="EgressRule"/> (resolved at levels 2 and 3, literal addresses at every level), and every
/// connection a sink opens is checked again when it is opened, on the addresses it then dials (no rebinding around it).
/// </summary>
internal sealed class SiemEgress(AirlockConfig config, IHostResolver resolver)
{
    private readonly EgressRule _rule = EgressRule.For(config);

    /// <summary>Every sink whose host the level refuses, as <c>siem.sinks[i] (name): reason</c>.</summary>
    public async Task<IReadOnlyList<string>> CheckAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        for (var i = 0; i < config.Siem.Sinks.Count; i++)
        {
            var sink = config.Siem.Sinks[i];
            var host = HostOf(sink);
            string? reason;
            if (IPAddress.TryParse(host, out var literal))
            {
                reason = _rule.Check(host, [literal]);
            }
            else if (config.Level >= 2)
            {
                try
                {
                    reason = _rule.Check(host, await resolver.ResolveAsync(host, cancellationToken).ConfigureAwait(false));
                }
                catch (SocketException ex)
                {
                    reason = $"{host} did not resolve ({ex.SocketErrorCode}); level {config.Level} needs to see that it is private";
                }
            }
            else
            {
                continue;
            }
            if (reason is not null)
            {
                problems.Add($"siem.sinks[{i}] ({sink.Name}): {reason}");
            }
        }
        return problems;
    }

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
