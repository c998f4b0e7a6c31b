using System.Net;
using System.Text.Json.Nodes;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Gateway.Hosting;
using Airlock.Gateway.Upstreams;
using Airlock.Testing;
using Microsoft.AspNetCore.Http;

namespace Airlock.FunctionalTests.Egress;

/// <summary>
/// Vertex's OAuth token fetch under the data-egress level: Google.Apis.Auth fetches tokens through a handler whose
/// connect guard allows only the credential's token endpoint, checked against the level like an upstream. The token
/// endpoint is the scripted one on loopback, reached through a host name the test's resolver answers for.
/// </summary>
public sealed class TokenEndpointEgressTests(ITestOutputHelper output)
{
    private const string VertexHost = "vertex.corp.test";
    private const string TokenHost = "oauth.corp.test";

    /// <summary>Rewrites a service-account file's <c>token_uri</c> to the same port on <paramref name="host"/>.</summary>
    private static void PointTokenUriAt(string credentialsFile, string host)
    {
        var json = JsonNode.Parse(File.ReadAllText(credentialsFile))!.AsObject();
        var tokenUri = new UriBuilder(json["token_uri"]!.GetValue<string>()) { Host = host };
        json["token_uri"] = tokenUri.Uri.ToString();
        File.WriteAllText(credentialsFile, json.ToJsonString());
    }

    /// <summary>
    /// Level 2 (loopback accepted for the test) with the scripted Vertex upstream reached by name over https (level 2
    /// requires TLS to cloud upstreams; the refusals tested here happen before any upstream connection is opened)
    /// and the service account's token endpoint on <see cref="TokenHost"/>.
    /// </summary>
    private static AirlockConfig Level2(AirlockConfig c)
    {
        var vertex = c.Upstreams[0];
        PointTokenUriAt(vertex.CredentialsFile!, TokenHost);
        return c with
        {
            Level = 2,
            Egress = new EgressConfig { AllowLoopback = true },
            Upstreams = [vertex with { Url = new Uri($"https://{VertexHost}:{vertex.Url!.Port}") }],
        };
    }

    [Fact]
    public async Task A_token_endpoint_that_turns_public_is_refused_before_any_grant_and_audited()
    {
        var resolver = new SwitchableResolver().Set(VertexHost, "127.0.0.1").Set(TokenHost, "127.0.0.1");
        await using var harness = await GatewayHarness.StartAsync(output, Level2, upstreamKind: UpstreamKind.Vertex, hostResolver: resolver);
        // After startup the token host's name changes (or is rebound) to a public address.
        resolver.Set(TokenHost, "142.250.1.95");

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Forbidden, "permission_error");
        Assert.Contains("OAuth token endpoint", message, StringComparison.Ordinal);
        Assert.Contains("142.250.1.95 (public)", message, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", message, StringComparison.Ordinal);
        Assert.Equal(0, harness.Upstream.GoogleAuth.Grants);
        Assert.Empty(harness.Upstream.VertexRequests);
        Assert.Contains(TokenHost, resolver.Asked);
        ErrorAssert.IsEgressRefusal(await harness.SingleAuditAsync());
    }

    [Fact]
    public async Task Level_2_startup_refuses_a_token_endpoint_that_resolves_public()
    {
        var resolver = new SwitchableResolver().Set(VertexHost, "127.0.0.1").Set(TokenHost, "127.0.0.1", "142.250.1.95");

        var ex = await Assert.ThrowsAsync<ConfigurationException>(() =>
            GatewayHarness.StartAsync(output, Level2, upstreamKind: UpstreamKind.Vertex, hostResolver: resolver));

        var violation = Assert.Single(ex.Errors);
        Assert.StartsWith("upstreams[0] (main): token endpoint http://oauth.corp.test:", violation, StringComparison.Ordinal);
        Assert.Contains("142.250.1.95 (public)", violation, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_private_token_endpoint_grants_a_token_through_the_guard()
    {
        await using var upstream = await ScriptedUpstream.StartAsync();
        var directory = Path.Combine(Path.GetTempPath(), "airlock-ft-" + Guid.NewGuid().ToString("N"));
        try
        {
            var vertex = GatewayHarness.UpstreamFor(upstream, UpstreamKind.Vertex, "vertex", directory);
            PointTokenUriAt(vertex.CredentialsFile!, TokenHost);
            var config = new AirlockConfig
            {
                Level = 2,
                DataDir = directory,
                Egress = new EgressConfig { AllowLoopback = true },
                Upstreams = [vertex],
                Routes = [new RouteConfig { Models = ["*"], Upstream = "vertex" }],
            };
            var resolver = new SwitchableResolver().Set(TokenHost, "127.0.0.1");
            var tokens = new GoogleAccessTokens(config, vertex, _ => null, resolver);

            var token = await tokens.GetAsync(CancellationToken.None);

            Assert.StartsWith("ya29.scripted-", token, StringComparison.Ordinal);
            Assert.Equal(1, upstream.GoogleAuth.Grants);
            // The connection was made by the guard: it resolved the token host through the test's resolver.
            Assert.Equal([TokenHost], resolver.Asked);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Level_2_without_a_credential_file_takes_metadata_server_tokens_through_the_guard_and_only_from_the_host()
    {
        var asked = new List<string>();
        await using var metadata = await ProbeUpstream.StartAsync(async context =>
        {
            lock (asked)
            {
                asked.Add($"{context.Request.Method} {context.Request.Path}");
            }
            // The metadata server answers only requests that carry Metadata-Flavor: Google.
            if (context.Request.Path != "/computeMetadata/v1/instance/service-accounts/default/token" || context.Request.Headers["Metadata-Flavor"] != "Google")
            {
                context.Response.StatusCode = 403;
                return;
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"access_token":"ya29.metadata-EXAMPLE","expires_in":3599,"token_type":"Bearer"}""");
        });
        var config = new AirlockConfig
        {
            Level = 2,
            DataDir = Path.GetTempPath(),
            Upstreams = [new UpstreamConfig { Name = "vertex", Kind = UpstreamKind.Vertex, Region = "us-east5", Project = "p", Url = new Uri("https://10.20.0.5") }],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "vertex" }],
        };
        Func<string, string?> environment = name => name == "GCE_METADATA_HOST" ? $"metadata.corp.test:{metadata.BaseUri.Port}" : null;
        // Loopback is not allowed for upstreams here: the metadata rule allows the host itself for this fetch only.
        var onHost = new GoogleAccessTokens(config, config.Upstreams[0], environment, new SwitchableResolver().Set("metadata.corp.test", "127.0.0.1"));
        var offHost = new GoogleAccessTokens(config, config.Upstreams[0], environment, new SwitchableResolver().Set("metadata.corp.test", "169.254.10.10"));

        var token = await onHost.GetAsync(CancellationToken.None);
        var refused = await Assert.ThrowsAsync<EgressRefusedException>(() => offHost.GetAsync(CancellationToken.None).AsTask());

        Assert.Equal("ya29.metadata-EXAMPLE", token);
        Assert.Equal(["GET /computeMetadata/v1/instance/service-accounts/default/token"], asked);
        Assert.Contains("169.254.10.10 (link-local)", refused.Reason, StringComparison.Ordinal);
    }
}
