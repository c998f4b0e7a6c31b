using System.Net;
using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests.Egress;

/// <summary>Circuit breakers in the failover loop, <c>/health/upstreams</c>, and model overrides, on real Kestrel.</summary>
public sealed class RoutingHealthTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_open_circuit_is_skipped_and_shown_in_health()
    {
        await using var harness = await GatewayHarness.StartAsync(output, configure: c => c with
        {
            Upstreams =
            [
                new UpstreamConfig
                {
                    Name = "dead", Kind = UpstreamKind.Messages, Url = new Uri("http://127.0.0.1:1"),
                    CircuitBreaker = new CircuitBreakerConfig { ConsecutiveFailures = 2, BreakDuration = TimeSpan.FromMinutes(5) },
                },
                c.Upstreams[0],
            ],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "dead", Fallbacks = ["main"] }],
        });

        for (var i = 0; i < 3; i++)
        {
            using var request = harness.Messages(RequestBodies.NonStreaming());
            using var response = await harness.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var health = await harness.Client.GetAsync(new Uri("/health/upstreams", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var json = JsonDocument.Parse(await health.Content.ReadAsStringAsync());
        var upstreams = json.RootElement.GetProperty("upstreams").EnumerateArray().ToDictionary(u => u.GetProperty("name").GetString()!);
        var dead = upstreams["dead"];
        Assert.Equal("open", dead.GetProperty("state").GetString());
        // Two real failures opened it; the third request skipped it without a connection attempt.
        Assert.Equal(2, dead.GetProperty("window_failures").GetInt32());
        Assert.StartsWith("upstream_", dead.GetProperty("last_failure").GetString(), StringComparison.Ordinal);
        Assert.Equal("closed", upstreams["main"].GetProperty("state").GetString());
        Assert.Equal(3, harness.Upstream.MessagesRequests.Count);
        Assert.DoesNotContain("127.0.0.1", json.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_every_circuit_is_open_the_client_gets_an_overloaded_error_at_once()
    {
        await using var harness = await GatewayHarness.StartAsync(output, configure: c => c with
        {
            Upstreams =
            [
                new UpstreamConfig
                {
                    Name = "dead", Kind = UpstreamKind.Messages, Url = new Uri("http://127.0.0.1:1"),
                    CircuitBreaker = new CircuitBreakerConfig { ConsecutiveFailures = 1, BreakDuration = TimeSpan.FromMinutes(5) },
                },
            ],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "dead" }],
        });

        using (var first = harness.Messages(RequestBodies.NonStreaming()))
        {
            using var response = await harness.Client.SendAsync(first);
            await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadGateway, "api_error");
        }
        using var second = harness.Messages(RequestBodies.NonStreaming());
        using var refused = await harness.Client.SendAsync(second);

        var message = await ErrorAssert.IsAnthropicErrorAsync(refused, HttpStatusCode.ServiceUnavailable, "overloaded_error");
        Assert.Contains("circuit open", message, StringComparison.Ordinal);
        var records = await harness.AuditAsync(2);
        Assert.Equal("circuit_open", records[1].ErrorType);
        using var health = await harness.Client.GetAsync(new Uri("/health/upstreams", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
    }

    [Fact]
    public async Task Model_overrides_map_Claude_Code_default_names_to_the_organizations_model()
    {
        await using var harness = await GatewayHarness.StartAsync(output, configure: c => c with
        {
            ModelOverrides =
            [
                new ModelMapping { Match = "claude-sonnet-4-5*", Model = "qwen3-coder-30b" },
                new ModelMapping { Match = "claude-haiku-*", Model = "qwen3-4b" },
            ],
            Routes = [new RouteConfig { Models = ["qwen3-*"], Upstream = "main" }],
        });

        using var request = harness.Messages(RequestBodies.NonStreaming("claude-sonnet-4-5-20250929"));
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = Assert.Single(harness.Upstream.MessagesRequests);
        using var body = JsonDocument.Parse(sent.BodyText);
        Assert.Equal("qwen3-coder-30b", body.RootElement.GetProperty("model").GetString());
        Assert.Equal("claude-sonnet-4-5-20250929", (await harness.SingleAuditAsync()).Model);
    }
}
