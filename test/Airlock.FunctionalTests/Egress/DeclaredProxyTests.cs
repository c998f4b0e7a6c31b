using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Airlock.FunctionalTests.Egress;

/// <summary>
/// Issue 5, level 2: "no outbound proxy unless declared and itself private". Startup checks the declared proxy's addresses
/// (<c>EgressEvaluatorTests</c>); these tests show the running gateway really sends upstream traffic through it, and that the
/// connect-time guard judges the proxy's address (not the upstream's, which the gateway never dials) on every connection.
/// All traffic stays on loopback: the upstream's name points at a closed port, so only the proxy can reach the upstream.
/// </summary>
public sealed class DeclaredProxyTests(ITestOutputHelper output)
{
    private const string UpstreamHost = "llm.corp.test";
    private const string ProxyHost = "proxy.corp.test";

    [Fact]
    public async Task Every_upstream_request_goes_through_the_declared_proxy()
    {
        var resolver = new SwitchableResolver().Set(UpstreamHost, "127.0.0.1").Set(ProxyHost, "127.0.0.1");
        await using var proxy = await ForwardProxy.StartAsync();
        var closedPort = ClosedPort();
        await using var harness = await StartAsync(resolver, closedPort, proxy);

        using var response = await harness.SendStreamingAsync(harness.Messages(RequestBodies.Streaming()));
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_stop", events[^1].Name);
        // The gateway asked the proxy for the upstream's URL (absolute form), and the proxy delivered it.
        var target = Assert.Single(proxy.Targets);
        Assert.Equal($"http://{UpstreamHost}:{closedPort}/v1/messages?beta=true", target);
        Assert.Single(harness.Upstream.MessagesRequests);
        // The guard resolved the proxy's name when it connected (startup resolves both names once each).
        Assert.Equal(2, resolver.Asked.Count(h => h == ProxyHost));
        Assert.Equal(AuditOutcome.Ok, (await harness.SingleAuditAsync()).Outcome);
    }

    [Fact]
    public async Task A_declared_proxy_whose_name_turns_public_is_refused_at_connect_time_and_audited()
    {
        var resolver = new SwitchableResolver().Set(UpstreamHost, "127.0.0.1").Set(ProxyHost, "127.0.0.1");
        await using var proxy = await ForwardProxy.StartAsync();
        await using var harness = await StartAsync(resolver, ClosedPort(), proxy);
        resolver.Set(ProxyHost, "93.184.216.34");

        using var response = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming()));

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Forbidden, "permission_error");
        Assert.Contains("93.184.216.34 (public)", message, StringComparison.Ordinal);
        Assert.Empty(proxy.Targets);
        Assert.Empty(harness.Upstream.MessagesRequests);
        ErrorAssert.IsEgressRefusal(await harness.SingleAuditAsync());
    }

    /// <summary>
    /// Level 2 (loopback allowed for the test), the on-premises upstream by name on a closed port, the proxy declared by name;
    /// the proxy relays to the harness's scripted upstream, whose address it learns here.
    /// </summary>
    private Task<GatewayHarness> StartAsync(SwitchableResolver resolver, int upstreamPort, ForwardProxy proxy) =>
        GatewayHarness.StartAsync(output, c =>
        {
            proxy.Upstream = c.Upstreams[0].Url;
            return c with
            {
                Level = 2,
                Egress = new EgressConfig { AllowLoopback = true, Proxy = new Uri($"http://{ProxyHost}:{proxy.Port}") },
                Upstreams = [c.Upstreams[0] with { Kind = UpstreamKind.Messages, Url = new Uri($"http://{UpstreamHost}:{upstreamPort}") }],
            };
        }, upstreamOptions: new ScriptedUpstreamOptions { AcceptBearerToken = true }, upstreamKind: UpstreamKind.Messages, hostResolver: resolver);

    /// <summary>A loopback port nothing listens on: a direct dial would be refused at once.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>
    /// A minimal HTTP forward proxy on Kestrel: records each absolute-form request target and relays the request to one
    /// fixed upstream (whatever host the target names), streaming the answer back.
    /// </summary>
    private sealed class ForwardProxy : IAsyncDisposable
    {
        private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
        {
            "Connection", "Proxy-Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Upgrade", "Proxy-Authorization", "Host",
        };

        private readonly ConcurrentQueue<string> _targets = new();
        private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false });
        private LoopbackServer? _server;

        public IReadOnlyCollection<string> Targets => _targets;

        /// <summary>Where every request is relayed.</summary>
        public Uri? Upstream { get; set; }

        public int Port => _server!.Port;

        public static async Task<ForwardProxy> StartAsync()
        {
            var proxy = new ForwardProxy();
            proxy._server = await LoopbackServer.StartAsync(proxy.RelayAsync);
            return proxy;
        }

        private async Task RelayAsync(HttpContext context)
        {
            var upstream = Upstream ?? throw new InvalidOperationException("the proxy has no upstream yet");
            _targets.Enqueue(context.Features.Get<IHttpRequestFeature>()!.RawTarget);
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(upstream, context.Request.Path + context.Request.QueryString));
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            request.Content = new ByteArrayContent(body.ToArray());
            foreach (var (name, values) in context.Request.Headers)
            {
                if (!HopByHop.Contains(name) && !request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
                {
                    request.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
                }
            }
            using var answer = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            context.Response.StatusCode = (int)answer.StatusCode;
            foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
            {
                if (!HopByHop.Contains(name))
                {
                    context.Response.Headers[name] = values.ToArray();
                }
            }
            await using var stream = await answer.Content.ReadAsStreamAsync(context.RequestAborted);
            await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }
        }
    }
}
