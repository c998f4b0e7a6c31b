using System.Net;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Gateway.Hosting;
using Airlock.Gateway.Upstreams;
using Airlock.Testing;

namespace Airlock.FunctionalTests.Egress;

/// <summary>
/// The data-egress level enforced on real connections: a real gateway on Kestrel, real loopback upstreams, and a
/// resolver stub the test controls, so host names resolve to addresses chosen by the test and no traffic leaves the
/// machine (public addresses are refused before any socket is opened).
/// </summary>
public sealed class EgressEnforcementTests(ITestOutputHelper output)
{
    private const string Host = "llm.corp.test";

    /// <summary>Level 2 (loopback accepted for the test) with the scripted upstream reached through <see cref="Host"/>.</summary>
    private static Func<AirlockConfig, AirlockConfig> Level2ByName(int port, UpstreamKind kind = UpstreamKind.Messages) => c => c with
    {
        Level = 2,
        Egress = new EgressConfig { AllowLoopback = true },
        Upstreams = [c.Upstreams[0] with { Kind = kind, Url = new Uri($"http://{Host}:{port}") }],
    };

    private static Task<GatewayHarness> StartLevel2Async(ITestOutputHelper output, SwitchableResolver resolver, Func<AirlockConfig, AirlockConfig>? more = null) =>
        StartWithPortAsync(output, resolver, port => c => (more ?? (x => x))(Level2ByName(port)(c)));

    private static async Task<GatewayHarness> StartWithPortAsync(ITestOutputHelper output, SwitchableResolver resolver, Func<int, Func<AirlockConfig, AirlockConfig>> configure)
    {
        // The scripted upstream's port is known only once it runs: configure reads it back from the first upstream URL.
        // On-premises kind (plain http is fine on a private network); it presents the key as a bearer token.
        return await GatewayHarness.StartAsync(output, c => configure(c.Upstreams[0].Url!.Port)(c),
            upstreamOptions: new ScriptedUpstreamOptions { AcceptBearerToken = true }, upstreamKind: UpstreamKind.Messages, hostResolver: resolver);
    }

    [Fact]
    public async Task A_name_that_turns_dual_after_startup_is_refused_at_connect_time_and_audited()
    {
        var resolver = new SwitchableResolver().Set(Host, "127.0.0.1");
        await using var harness = await StartLevel2Async(output, resolver);
        // DNS changes after startup (or an attacker rebinds the name): one private and one public address.
        resolver.Set(Host, "127.0.0.1", "93.184.216.34");

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Forbidden, "permission_error");
        Assert.Contains("93.184.216.34 (public)", message, StringComparison.Ordinal);
        Assert.Contains("data-egress", message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.MessagesRequests);
        ErrorAssert.IsEgressRefusal(await harness.SingleAuditAsync());
    }

    [Fact]
    public async Task A_refused_connection_is_not_retried_on_that_upstream()
    {
        var resolver = new SwitchableResolver().Set(Host, "127.0.0.1");
        await using var harness = await StartLevel2Async(output, resolver, c => c with
        {
            Upstreams = [c.Upstreams[0] with { Retries = 3, RetryBackoff = TimeSpan.FromMilliseconds(5) }],
        });
        resolver.Set(Host, "8.8.8.8");

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Forbidden, "permission_error");
        // Startup asked once; the one refused attempt asked once more; no retry asked again.
        Assert.Equal(2, resolver.Asked.Count(h => h == Host));
        Assert.Empty(harness.Upstream.MessagesRequests);
    }

    [Fact]
    public async Task A_refused_primary_fails_over_to_the_next_allowed_upstream()
    {
        var resolver = new SwitchableResolver().Set(Host, "127.0.0.1").Set("public.llm.test", "127.0.0.1");
        await using var harness = await StartWithPortAsync(output, resolver, port => c => c with
        {
            Level = 2,
            Egress = new EgressConfig { AllowLoopback = true },
            Upstreams =
            [
                new UpstreamConfig { Name = "rebound", Kind = UpstreamKind.Messages, Url = new Uri($"http://public.llm.test:{port}") },
                c.Upstreams[0] with { Kind = UpstreamKind.Messages, Url = new Uri($"http://{Host}:{port}") },
            ],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "rebound", Fallbacks = [c.Upstreams[0].Name] }],
        });
        resolver.Set("public.llm.test", "::ffff:34.200.1.1");

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_stop", events[^1].Name);
        Assert.Single(harness.Upstream.MessagesRequests);
        Assert.Equal("main", (await harness.SingleAuditAsync()).Upstream);
    }

    [Fact]
    public async Task An_IPv4_mapped_IPv6_answer_is_checked_and_dialed_as_the_IPv4_address()
    {
        var resolver = new SwitchableResolver().Set(Host, "::ffff:127.0.0.1");
        await using var harness = await StartLevel2Async(output, resolver);

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(harness.Upstream.MessagesRequests);
    }

    [Fact]
    public async Task An_IPv4_mapped_public_address_is_refused_without_a_connection()
    {
        var resolver = new SwitchableResolver().Set(Host, "127.0.0.1");
        await using var harness = await StartLevel2Async(output, resolver);
        resolver.Set(Host, "::ffff:8.8.8.8");

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Forbidden, "permission_error");
        Assert.Contains("::ffff:8.8.8.8 (public)", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Level_1_refuses_the_cloud_metadata_address_at_connect_time()
    {
        var resolver = new SwitchableResolver().Set(Host, "127.0.0.1");
        await using var harness = await StartWithPortAsync(output, resolver, port => c => c with
        {
            Upstreams = [c.Upstreams[0] with { Url = new Uri($"http://{Host}:{port}") }],
        });
        resolver.Set(Host, "169.254.169.254");

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Forbidden, "permission_error");
        Assert.Contains("cloud metadata service", message, StringComparison.Ordinal);
        Assert.Equal("egress_refused", (await harness.SingleAuditAsync()).ErrorType);
    }

    [Fact]
    public async Task A_redirect_to_another_server_is_not_followed()
    {
        await using var elsewhere = await ProbeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = 200;
            return Task.CompletedTask;
        });
        await using var redirecting = await ProbeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = new Uri(elsewhere.BaseUri, "/v1/messages").ToString();
            return Task.CompletedTask;
        });
        var resolver = new SwitchableResolver();
        await using var harness = await GatewayHarness.StartAsync(output, c => c with
        {
            Level = 3,
            Upstreams = [c.Upstreams[0] with { Kind = UpstreamKind.Messages, Url = redirecting.BaseUri }],
        }, upstreamKind: UpstreamKind.Messages, hostResolver: resolver);

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadGateway, "api_error");
        Assert.Null(response.Headers.Location);
        await redirecting.Arrived;
        Assert.False(elsewhere.Arrived.IsCompleted);
        Assert.Equal("upstream_redirect", (await harness.SingleAuditAsync()).ErrorType);
    }

    [Fact]
    public async Task Level_3_upstream_handler_refuses_any_host_but_the_configured_one()
    {
        var config = new AirlockConfig
        {
            Level = 3,
            DataDir = Path.GetTempPath(),
            Upstreams = [new UpstreamConfig { Name = "ollama", Kind = UpstreamKind.Messages, Url = new Uri("http://127.0.0.1:9") }],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "ollama" }],
        };
        var resolver = new SwitchableResolver().Set("elsewhere.test", "10.0.0.1");
        using var registry = new UpstreamRegistry(config, _ => null, resolver);

        using var request = new HttpRequestMessage(HttpMethod.Get, "http://elsewhere.test:8000/");
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => registry.Get("ollama").Invoker.SendAsync(request, CancellationToken.None));

        var refused = Assert.IsType<EgressRefusedException>(ex.InnerException);
        Assert.Contains("only the configured upstream host", refused.Reason, StringComparison.Ordinal);
        Assert.Empty(resolver.Asked);
    }

    [Fact]
    public async Task Level_3_never_initialises_a_cloud_credential_provider()
    {
        var read = new List<string>();
        var config = new AirlockConfig
        {
            Level = 3,
            DataDir = Path.GetTempPath(),
            Upstreams =
            [
                new UpstreamConfig { Name = "ollama", Kind = UpstreamKind.Messages, Url = new Uri("http://127.0.0.1:11434") },
                new UpstreamConfig { Name = "bedrock", Kind = UpstreamKind.Bedrock, Region = "us-east-1" },
                new UpstreamConfig { Name = "vertex", Kind = UpstreamKind.Vertex, Region = "us-east5", Project = "p" },
            ],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "ollama" }],
            Source = "level3.yaml",
        };

        // Startup lists every violation before anything is built.
        var startup = await Assert.ThrowsAsync<ConfigurationException>(() => AirlockGateway.StartAsync(config, new GatewayStartOptions
        {
            Urls = "http://127.0.0.1:0",
            GetEnvironment = name => { read.Add(name); return null; },
            HostResolver = new SwitchableResolver(),
        }));
        Assert.Contains(startup.Errors, e => e.StartsWith("upstreams[1] (bedrock)", StringComparison.Ordinal));
        Assert.Contains(startup.Errors, e => e.StartsWith("upstreams[2] (vertex)", StringComparison.Ordinal));

        // The registry refuses too, on its own, before any adapter (and its credential chain) exists.
        var registry = Assert.Throws<ConfigurationException>(() => new UpstreamRegistry(config, name => { read.Add(name); return null; }));
        Assert.Contains("no cloud credential provider", Assert.Single(registry.Errors), StringComparison.Ordinal);
        Assert.Empty(read);
    }

    [Fact]
    public async Task Level_2_startup_refuses_a_name_that_resolves_to_a_public_address_and_lists_every_violation()
    {
        var resolver = new SwitchableResolver()
            .Set("vpce-0a1b2c3d-e4f5.bedrock-runtime.us-east-1.vpce.amazonaws.com", "10.0.7.12", "52.94.0.1")
            .Set("llm.corp.test", "3.3.3.3");
        var config = new AirlockConfig
        {
            Level = 2,
            DataDir = Path.GetTempPath(),
            Upstreams =
            [
                new UpstreamConfig { Name = "bedrock", Kind = UpstreamKind.Bedrock, Region = "us-east-1",
                    Url = new Uri("https://vpce-0a1b2c3d-e4f5.bedrock-runtime.us-east-1.vpce.amazonaws.com") },
                new UpstreamConfig { Name = "onprem", Kind = UpstreamKind.Messages, Url = new Uri("http://llm.corp.test:8000") },
                new UpstreamConfig { Name = "vendor", Kind = UpstreamKind.Anthropic, Url = new Uri("https://api.anthropic.com") },
            ],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "onprem" }],
            Source = "level2.yaml",
        };

        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => AirlockGateway.StartAsync(config, new GatewayStartOptions
        {
            Urls = "http://127.0.0.1:0",
            GetEnvironment = _ => null,
            HostResolver = resolver,
        }));

        Assert.Contains(ex.Errors, e => e.StartsWith("upstreams[0] (bedrock)", StringComparison.Ordinal) && e.Contains("52.94.0.1 (public)", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("upstreams[1] (onprem)", StringComparison.Ordinal) && e.Contains("3.3.3.3 (public)", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("upstreams[2] (vendor)", StringComparison.Ordinal) && e.Contains("model vendor", StringComparison.Ordinal));
    }
}
