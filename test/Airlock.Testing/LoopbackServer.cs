using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Airlock.Testing;

/// <summary>
/// A real Kestrel server on 127.0.0.1:0 that answers every request with one handler: the host every scripted provider
/// (<see cref="ScriptedUpstream"/>, <see cref="ScriptedOpenAi"/>, <see cref="ScriptedBedrock"/>) runs in.
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackServer(WebApplication app, int port, string scheme)
    {
        _app = app;
        Port = port;
        BaseUrl = $"{scheme}://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>The port Kestrel bound.</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:PORT</c> (<c>https://</c> when started with a certificate).</summary>
    public string BaseUrl { get; }

    /// <summary>Starts the server; <paramref name="maxRequestBodyBytes"/> null keeps Kestrel's default limit.</summary>
    public static Task<LoopbackServer> StartAsync(RequestDelegate handler, long? maxRequestBodyBytes = null, CancellationToken cancellationToken = default) =>
        StartAsync(handler, maxRequestBodyBytes, null, cancellationToken);

    /// <summary>Starts the server over TLS with <paramref name="certificate"/> (which must hold its private key).</summary>
    public static Task<LoopbackServer> StartTlsAsync(RequestDelegate handler, X509Certificate2 certificate, CancellationToken cancellationToken = default) =>
        StartAsync(handler, null, certificate ?? throw new ArgumentNullException(nameof(certificate)), cancellationToken);

    private static async Task<LoopbackServer> StartAsync(RequestDelegate handler, long? maxRequestBodyBytes, X509Certificate2? certificate, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(LoopbackServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Production",
        });
        builder.Logging.ClearProviders();
        if (certificate is null)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (certificate is not null)
            {
                kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.UseHttps(certificate));
            }
            if (maxRequestBodyBytes is { } max)
            {
                kestrel.Limits.MaxRequestBodySize = max;
            }
        });
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync(cancellationToken);
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        return new LoopbackServer(app, bound.Port, certificate is null ? "http" : "https");
    }

    /// <summary>
    /// Reads <paramref name="context"/>'s request whole: method, path and query as sent on the wire (the raw target,
    /// so <c>%2F</c> stays encoded, as a real provider sees it), every header value, and the body.
    /// </summary>
    public static async Task<RecordedRequest> ReadRequestAsync(HttpContext context, int sequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, cancellationToken);
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.ToString();
        var query = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var header in context.Request.Headers)
        {
            foreach (var value in header.Value)
            {
                headers.Add(new(header.Key, value ?? ""));
            }
        }
        return new RecordedRequest(sequence, context.Request.Method, query < 0 ? rawTarget : rawTarget[..query],
            query < 0 ? "" : rawTarget[query..], headers, body.ToArray(), DateTimeOffset.UtcNow);
    }

    /// <summary>Stops within 5 s (connections still open then are dropped) and releases the server.</summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }
        await _app.DisposeAsync();
    }
}
