using System.Net;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// Issue 4, bad input: "cloud credentials never appear in logs or errors". Every line the gateway logs is captured while it
/// signs Bedrock calls (a right and a wrong secret) and fetches Vertex tokens (granted and refused), and neither a secret
/// key, a Google access token, the service account's private key nor the developer's gateway key is in any of them.
/// </summary>
public sealed class CloudCredentialLogTests(ITestOutputHelper output)
{
    private const string WrongSecret = "wrong-secret-0b1e2f3a4c5d6e7f8091";

    [Fact]
    public async Task Bedrock_signing_with_a_right_and_a_wrong_secret_logs_neither()
    {
        var log = new CapturingOutput(output);
        await using (var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Bedrock))
        {
            using var response = await harness.Client.SendAsync(harness.Messages(RequestBodies.Streaming()));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync();
            log.Secrets.Add(harness.DeveloperKey);
        }
        await using (var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Bedrock,
            environment: name => name == "AWS_SECRET_ACCESS_KEY" ? WrongSecret : null))
        {
            using var response = await harness.Client.SendAsync(harness.Messages(RequestBodies.Streaming()));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.DoesNotContain(WrongSecret, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            log.Secrets.Add(harness.DeveloperKey);
        }

        log.Secrets.Add(BedrockSigV4Verifier.TestCredentials.SecretAccessKey);
        log.Secrets.Add(WrongSecret);
        log.AssertNoSecret();
    }

    [Fact]
    public async Task Vertex_token_grants_and_a_refused_service_account_log_no_token_and_no_key()
    {
        var log = new CapturingOutput(output);
        await using (var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Vertex))
        {
            using var response = await harness.Client.SendAsync(harness.Messages(RequestBodies.Streaming()));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync();
            var token = Assert.Single(harness.Upstream.VertexRequests).Header("authorization")!["Bearer ".Length..];
            log.Secrets.Add(token);
            log.AddServiceAccountKey(harness.DataDir);
            log.Secrets.Add(harness.DeveloperKey);
        }
        await using (var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Vertex))
        {
            harness.Upstream.GoogleAuth.RefuseGrants = true;
            using var response = await harness.Client.SendAsync(harness.Messages(RequestBodies.Streaming()));
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            log.AddServiceAccountKey(harness.DataDir);
            log.Secrets.Add(harness.DeveloperKey);
        }

        Assert.False(log.Lines.IsEmpty, "the gateway logged nothing to check");
        log.AssertNoSecret();
    }
}
