using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Airlock.FunctionalTests.Siem;

/// <summary>How an <see cref="HttpReceiver"/> answers.</summary>
public enum ReceiverMode
{
    Ok,
    Fail500,
    Hang,
}

/// <summary>
/// A real Kestrel endpoint standing in for a webhook or an OTLP collector. With a secret it verifies what a webhook
/// receiver must: the HMAC-SHA256 of the raw body, a timestamp header equal to the signed <c>sent_at</c> and within
/// five minutes; a bad signature gets 401 and is counted in <see cref="Rejected"/>.
/// </summary>
public sealed class HttpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly byte[]? _secret;
    private readonly ConcurrentQueue<JsonDocument> _accepted = new();
    private int _rejected;
    private int _attempts;

    private HttpReceiver(WebApplication app, byte[]? secret)
    {
        _app = app;
        _secret = secret;
    }

    public volatile ReceiverMode Mode;

    public Uri BaseUri => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public int Rejected => _rejected;

    public int Attempts => _attempts;

    public IReadOnlyList<JsonDocument> Accepted => [.. _accepted];

    public static async Task<HttpReceiver> StartAsync(string? secret = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new HttpReceiver(app, secret is null ? null : Encoding.UTF8.GetBytes(secret));
        app.MapPost("/{**path}", receiver.HandleAsync);
        await app.StartAsync();
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _attempts);
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        switch (Mode)
        {
            case ReceiverMode.Hang:
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            case ReceiverMode.Fail500:
                context.Response.StatusCode = 500;
                return;
        }
        var document = JsonDocument.Parse(body);
        if (_secret is not null && !Verify(context.Request, body, document))
        {
            Interlocked.Increment(ref _rejected);
            context.Response.StatusCode = 401;
            return;
        }
        _accepted.Enqueue(document);
        context.Response.StatusCode = 200;
    }

    private bool Verify(HttpRequest request, byte[] body, JsonDocument document)
    {
        var signature = request.Headers["X-Airlock-Signature"].ToString();
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(_secret!, body));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(expected)))
        {
            return false;
        }
        if (!long.TryParse(request.Headers["X-Airlock-Timestamp"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return false;
        }
        return timestamp == document.RootElement.GetProperty("sent_at").GetInt64()
            && Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - timestamp) <= 300;
    }

    /// <summary>Waits until <paramref name="done"/> holds for what was accepted.</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<JsonDocument>, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done(Accepted))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what}: not received within {timeout} ({Accepted.Count} accepted, {Attempts} attempts, {Rejected} rejected)");
            }
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        foreach (var document in _accepted)
        {
            document.Dispose();
        }
    }
}

/// <summary>
/// A syslog collector on loopback: UDP (a message per datagram), TCP and TLS (octet-counted frames, RFC 6587 §3.4.1 /
/// RFC 5425). Parses every frame strictly: the length prefix must match the bytes that follow.
/// </summary>
public sealed class SyslogListener : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _messages = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Socket? _udp;
    private readonly TcpListener? _tcp;
    private readonly X509Certificate2? _certificate;
    private readonly Task _loop;
    private readonly ConcurrentQueue<string> _errors = new();

    private SyslogListener(Socket? udp, TcpListener? tcp, X509Certificate2? certificate)
    {
        _udp = udp;
        _tcp = tcp;
        _certificate = certificate;
        _loop = udp is not null ? Task.Run(UdpLoopAsync) : Task.Run(TcpLoopAsync);
    }

    public int Port => _udp is not null ? ((IPEndPoint)_udp.LocalEndPoint!).Port : ((IPEndPoint)_tcp!.LocalEndpoint).Port;

    public IReadOnlyList<string> Messages => [.. _messages];

    public IReadOnlyList<string> Errors => [.. _errors];

    public static SyslogListener StartUdp()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return new SyslogListener(socket, null, null);
    }

    public static SyslogListener StartTcp(X509Certificate2? certificate = null)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new SyslogListener(null, listener, certificate);
    }

    /// <summary>A self-signed certificate for <c>localhost</c>; its PEM (public part) is written to <paramref name="pemPath"/> for <c>ca_file</c>.</summary>
    public static X509Certificate2 SelfSignedLocalhost(string pemPath)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(pemPath, certificate.ExportCertificatePem());
        // Re-imported so the private key is usable by SslStream on Linux.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    private async Task UdpLoopAsync()
    {
        var buffer = new byte[70_000];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var read = await _udp!.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                _messages.Enqueue(Encoding.UTF8.GetString(buffer, 0, read));
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task TcpLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _tcp!.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            _ = Task.Run(() => ReadFramesAsync(client));
        }
    }

    private async Task ReadFramesAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                Stream stream = client.GetStream();
                if (_certificate is not null)
                {
                    var tls = new SslStream(stream);
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, _stop.Token);
                    stream = tls;
                }
                await using (stream)
                {
                    while (true)
                    {
                        // MSG-LEN SP SYSLOG-MSG: digits, one space, exactly MSG-LEN octets.
                        var length = 0;
                        var digits = 0;
                        var one = new byte[1];
                        while (true)
                        {
                            if (await stream.ReadAsync(one, _stop.Token) == 0)
                            {
                                if (digits > 0)
                                {
                                    _errors.Enqueue("connection closed inside a length prefix");
                                }
                                return;
                            }
                            if (one[0] == (byte)' ')
                            {
                                break;
                            }
                            if (one[0] is < (byte)'0' or > (byte)'9' || digits == 0 && one[0] == (byte)'0')
                            {
                                _errors.Enqueue($"bad frame length byte 0x{one[0]:x2}");
                                return;
                            }
                            length = length * 10 + (one[0] - '0');
                            digits++;
                        }
                        var message = new byte[length];
                        await stream.ReadExactlyAsync(message, _stop.Token);
                        _messages.Enqueue(Encoding.UTF8.GetString(message));
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException or EndOfStreamException)
            {
                if (!_stop.IsCancellationRequested)
                {
                    _errors.Enqueue(ex.GetType().Name + ": " + ex.Message);
                }
            }
        }
    }

    public async Task WaitForAsync(Func<IReadOnlyList<string>, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done(Messages))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what}: not received within {timeout} ({Messages.Count} messages; errors: {string.Join("; ", Errors)})");
            }
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp?.Dispose();
        _tcp?.Stop();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            // Closing the socket ends the loop.
        }
        _certificate?.Dispose();
        _stop.Dispose();
    }
}
