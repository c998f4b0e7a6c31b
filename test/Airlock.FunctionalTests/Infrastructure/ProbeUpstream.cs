using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Airlock.FunctionalTests.Infrastructure;

/// <summary>
/// A bare loopback upstream running one handler, for behaviours the scripted upstream does not script:
/// a stream that ends cleanly without <c>message_stop</c>, or a handler that reports when the gateway
/// cancelled its request. <see cref="Aborted"/> completes when any request's <c>RequestAborted</c> fires.
/// </summary>
internal sealed class ProbeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ProbeUpstream(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>Completes when a request arrived.</summary>
    public Task Arrived => _arrived.Task;

    /// <summary>Completes when the gateway cancelled (aborted) a request.</summary>
    public Task Aborted => _aborted.Task;

    public static async Task<ProbeUpstream> StartAsync(Func<HttpContext, Task> handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var probe = new ProbeUpstream(app);
        app.Run(async context =>
        {
            using var registration = context.RequestAborted.Register(() => probe._aborted.TrySetResult());
            probe._arrived.TrySetResult();
            try
            {
                await handler(context);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
            {
                // The gateway went away: that is what these tests provoke.
            }
        });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        probe.BaseUri = new Uri("http://127.0.0.1:" + address.Port.ToString(CultureInfo.InvariantCulture));
        return probe;
    }

    /// <summary>A loopback port with nothing listening on it (bound, then released).</summary>
    public static Uri ClosedPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture));
    }

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
