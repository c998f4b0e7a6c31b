using System.Net;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Gateway.Hosting;
using Airlock.Testing;
using Microsoft.AspNetCore.Http;

namespace Airlock.FunctionalTests;

/// <summary>The gateway speaks to each upstream with its own credential, in the header that upstream kind expects, and never with the developer's.</summary>
public sealed class UpstreamCredentialTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Messages_compatible_upstream_gets_a_bearer_token()
    {
        await using var harness = await GatewayHarness.StartAsync(
            output,
            c => c with { Upstreams = [c.Upstreams[0] with { Kind = UpstreamKind.Messages }] },
            new ScriptedUpstreamOptions { AcceptBearerToken = true, ExpectedApiKey = "vllm-token" });

        using var request = harness.Messages(RequestBodies.Streaming());
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        using var response = await harness.SendStreamingAsync(request);
        await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(harness.Upstream.Requests);
        Assert.Equal(["Bearer vllm-token"], received.Headers["authorization"]);
        Assert.False(received.Headers.ContainsKey("x-api-key"));
    }

    [Fact]
    public async Task Upstream_without_a_credential_gets_no_auth_header_at_all()
    {
        var headers = new List<string>();
        await using var probe = await ProbeUpstream.StartAsync(async context =>
        {
            lock (headers)
            {
                headers.AddRange(context.Request.Headers.Select(h => h.Key.ToLowerInvariant() + ": " + h.Value));
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"type\":\"message\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}");
        });
        await using var harness = await GatewayHarness.StartAsync(output, c => c with
        {
            Upstreams = [new UpstreamConfig { Name = "main", Kind = UpstreamKind.Messages, Url = probe.BaseUri }],
        });

        using var request = harness.Messages(RequestBodies.NonStreaming());
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        request.Headers.TryAddWithoutValidation("Cookie", "session=abc");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.9");
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(headers, h => h.StartsWith("authorization:", StringComparison.Ordinal));
        Assert.DoesNotContain(headers, h => h.StartsWith("x-api-key:", StringComparison.Ordinal));
        Assert.DoesNotContain(headers, h => h.StartsWith("cookie:", StringComparison.Ordinal));
        Assert.DoesNotContain(headers, h => h.StartsWith("x-forwarded-for:", StringComparison.Ordinal));
        Assert.DoesNotContain(headers, h => h.Contains(harness.DeveloperKey, StringComparison.Ordinal));
        Assert.Contains("anthropic-version: 2023-06-01", headers);
    }

    [Fact]
    public async Task Missing_upstream_credential_stops_startup_with_its_name()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "airlock-ft-" + Guid.NewGuid().ToString("N"));
        var config = new AirlockConfig
        {
            Level = 1,
            DataDir = dataDir,
            Upstreams =
            [
                new UpstreamConfig { Name = "a", Kind = UpstreamKind.Anthropic, Url = new Uri("https://llm-gateway.corp.example"), ApiKeyEnv = "AIRLOCK_FT_NOT_SET_1" },
                new UpstreamConfig { Name = "b", Kind = UpstreamKind.Messages, Url = new Uri("http://127.0.0.1:9"), ApiKeyEnv = "AIRLOCK_FT_NOT_SET_2" },
            ],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "a" }],
            Source = "test.yaml",
        };

        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => AirlockGateway.StartAsync(config, new GatewayStartOptions
        {
            Urls = "http://127.0.0.1:0",
            GetEnvironment = _ => null,
        }));

        Assert.Equal(
            ["upstreams[0].api_key_env: environment variable AIRLOCK_FT_NOT_SET_1 is not set", "upstreams[1].api_key_env: environment variable AIRLOCK_FT_NOT_SET_2 is not set"],
            ex.Errors);
        Assert.False(Directory.Exists(dataDir));
    }
}
