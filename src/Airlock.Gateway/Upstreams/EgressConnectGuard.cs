using System.Net;
using System.Net.Sockets;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// The connect callback of every upstream handler: the data-egress level enforced on each connection as it is
/// opened, so a DNS change after startup (or a rebinding attack) cannot route around it. It resolves the host once
/// through <see cref="IHostResolver"/>, checks every address against the level's <see cref="EgressRule"/> (one refused
/// address refuses the host), then dials only the addresses it checked: no second resolution, nothing to rebind.
/// Only the configured upstream host (or the declared proxy) may be dialed at all.
/// </summary>
internal sealed class EgressConnectGuard
{
    private readonly string _upstream;
    private readonly string _allowed;
    private readonly bool _proxied;
    private readonly EgressRule _rule;
    private readonly IHostResolver _resolver;
    private readonly HashSet<string> _hosts = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The guard of an upstream's own handler: only its effective URL's host (and the declared proxy).</summary>
    public EgressConnectGuard(AirlockConfig config, UpstreamConfig upstream, IHostResolver resolver)
        : this(config, upstream.Name, UpstreamEndpoints.EffectiveUrl(upstream) is { } url ? [url] : [], "the configured upstream host", resolver)
    {
    }

    /// <summary>
    /// A guard that allows <paramref name="destinations"/>' hosts (and the declared proxy) on behalf of
    /// <paramref name="upstream"/>, e.g. the OAuth token endpoints of a Vertex credential or an AWS credential source's
    /// endpoint; <paramref name="allowed"/> names them in refusals. <paramref name="rule"/> replaces the level's own
    /// rule (an instance-metadata fetch uses <see cref="EgressRule.ForMetadataCredentials"/>).
    /// </summary>
    public EgressConnectGuard(AirlockConfig config, string upstream, IEnumerable<Uri> destinations, string allowed, IHostResolver resolver, EgressRule? rule = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(destinations);
        _upstream = upstream;
        _allowed = allowed;
        _rule = rule ?? EgressRule.For(config);
        _resolver = resolver;
        foreach (var destination in destinations)
        {
            _hosts.Add(Unbracket(destination.IdnHost));
        }
        if (config.Egress.Proxy is { } proxy)
        {
            _hosts.Add(Unbracket(proxy.IdnHost));
            _proxied = true;
        }
    }

    /// <summary>The <see cref="SocketsHttpHandler.ConnectCallback"/>.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = Unbracket(context.DnsEndPoint.Host);
        if (!_hosts.Contains(host))
        {
            throw new EgressRefusedException(_upstream, $"connection to {host} refused: only {_allowed}{(_proxied ? " and the declared proxy" : "")} may be dialed");
        }
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await _resolver.ResolveAsync(host, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new HttpRequestException(HttpRequestError.NameResolutionError, $"{host} did not resolve: {ex.SocketErrorCode}", ex);
            }
        }
        if (_rule.Check(host, addresses) is { } reason)
        {
            throw new EgressRefusedException(_upstream, reason);
        }
        SocketException? lastFailure = null;
        foreach (var address in addresses)
        {
            // The checked address, as the IPv4 address it carries when it is IPv4-mapped IPv6.
            var target = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
            var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(target, context.DnsEndPoint.Port), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                lastFailure = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw lastFailure!;
    }

    private static string Unbracket(string host) => host.Length > 2 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;
}

/// <summary>An upstream connection the data-egress level does not allow. Never retried on the same upstream.</summary>
public sealed class EgressRefusedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EgressRefusedException(string upstream, string reason)
        : base($"upstream '{upstream}': {reason}")
    {
        Upstream = upstream;
        Reason = reason;
    }

    /// <summary>The upstream whose connection was refused.</summary>
    public string Upstream { get; }

    /// <summary>Why: the host or each refused address with its scope, and the level's requirement.</summary>
    public string Reason { get; }
}
