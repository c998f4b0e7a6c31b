using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;

namespace Airlock.Gateway.Siem;

/// <summary>
/// Syslog delivery: over UDP one message per datagram (RFC 5426); over TCP and TLS each message framed by octet
/// counting, <c>MSG-LEN SP SYSLOG-MSG</c> (RFC 6587 §3.4.1, which RFC 5425 §4.3 uses for TLS). The connection is
/// kept open and made again after a failure; a write or connect that takes longer than the sink's timeout fails the
/// delivery, so a collector that stops reading cannot hold the loop.
/// </summary>
/// <param name="config">The sink.</param>
/// <param name="addresses">When given, the addresses to dial for each new connection, already checked against the
/// data-egress level (it throws <see cref="SiemDeliveryException"/> when the level refuses them); else the host is dialed by name.</param>
public sealed class SyslogSink(SiemSinkConfig config, Func<CancellationToken, Task<System.Net.IPAddress[]>>? addresses = null) : ISiemSink
{
    // RFC 5426 §3.2: a datagram carries one message; IPv4 UDP payloads end at 65,507 bytes. Longer messages are cut.
    private const int MaxDatagram = 65_507;

    private readonly X509Certificate2Collection? _trusted = config.CaFile is null ? null : LoadTrusted(config.CaFile);
    private Socket? _udp;
    private TcpClient? _tcp;
    private Stream? _stream;

    /// <inheritdoc/>
    public string Name => config.Name;

    /// <inheritdoc/>
    public async Task SendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(config.Timeout);
        try
        {
            if (config.Transport == SyslogTransport.Udp)
            {
                await SendUdpAsync(records, timeout.Token).ConfigureAwait(false);
                return;
            }
            var stream = _stream ?? await ConnectAsync(timeout.Token).ConfigureAwait(false);
            foreach (var record in records)
            {
                var message = SyslogFormatter.Format(record, config.Facility, config.Payload == SyslogPayload.Cef);
                var frame = Encoding.ASCII.GetBytes(message.Length.ToString(CultureInfo.InvariantCulture) + " ");
                await stream.WriteAsync(frame, timeout.Token).ConfigureAwait(false);
                await stream.WriteAsync(message, timeout.Token).ConfigureAwait(false);
            }
            await stream.FlushAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException
            && !cancellationToken.IsCancellationRequested)
        {
            Disconnect();
            throw new SiemDeliveryException(ex is OperationCanceledException
                ? $"syslog {config.Host}:{config.Port}: no progress within {config.Timeout.TotalSeconds:0.#}s"
                : $"syslog {config.Host}:{config.Port}: {ex.Message}", ex);
        }
    }

    private async Task SendUdpAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        if (_udp is null)
        {
            var socket = new Socket(SocketType.Dgram, ProtocolType.Udp);
            try
            {
                if (addresses is null)
                {
                    await socket.ConnectAsync(config.Host!, config.Port, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await socket.ConnectAsync(await addresses(cancellationToken).ConfigureAwait(false), config.Port, cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            _udp = socket;
        }
        foreach (var record in records)
        {
            var message = SyslogFormatter.Format(record, config.Facility, config.Payload == SyslogPayload.Cef);
            await _udp.SendAsync(message.AsMemory(0, Math.Min(message.Length, MaxDatagram)), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            if (addresses is null)
            {
                await tcp.ConnectAsync(config.Host!, config.Port, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await tcp.ConnectAsync(await addresses(cancellationToken).ConfigureAwait(false), config.Port, cancellationToken).ConfigureAwait(false);
            }
            Stream stream = tcp.GetStream();
            if (config.Transport == SyslogTransport.Tls)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = config.Host,
                    RemoteCertificateValidationCallback = Validate,
                }, cancellationToken).ConfigureAwait(false);
                stream = tls;
            }
            _tcp = tcp;
            _stream = stream;
            return stream;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>System trust, or, with <c>ca_file</c>, a chain to that CA only; the name must match either way.</summary>
    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (_trusted is null || certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_trusted);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }

    private static X509Certificate2Collection LoadTrusted(string path)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPemFile(path);
        return collection;
    }

    private void Disconnect()
    {
        _stream?.Dispose();
        _tcp?.Dispose();
        _udp?.Dispose();
        _stream = null;
        _tcp = null;
        _udp = null;
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Disconnect();
        if (_trusted is not null)
        {
            foreach (var certificate in _trusted)
            {
                certificate.Dispose();
            }
        }
        return ValueTask.CompletedTask;
    }
}
