using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
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

    /// <summary>The test's output, also kept line by line so the test can search everything the gateway logged.</summary>
    private sealed class CapturingOutput(ITestOutputHelper inner) : ITestOutputHelper
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public List<string> Secrets { get; } = [];

        public void WriteLine(string message)
        {
            Lines.Enqueue(message);
            inner.WriteLine(message);
        }

        public void WriteLine(string format, params object[] args) => WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));

        /// <summary>Every 40-character run of the service-account file's private key (the file the harness wrote).</summary>
        public void AddServiceAccountKey(string dataDir)
        {
            foreach (var file in Directory.EnumerateFiles(dataDir, "*.json", SearchOption.AllDirectories))
            {
                using var document = JsonDocument.Parse(File.ReadAllText(file));
                if (document.RootElement.TryGetProperty("private_key", out var key))
                {
                    var body = string.Concat(key.GetString()!.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal)));
                    for (var i = 0; i + 40 <= body.Length; i += 40)
                    {
                        Secrets.Add(body.Substring(i, 40));
                    }
                    Secrets.Add("PRIVATE KEY");
                }
            }
        }

        public void AssertNoSecret()
        {
            Assert.Contains(Secrets, s => s.Length > 0);
            foreach (var line in Lines)
            {
                foreach (var secret in Secrets)
                {
                    Assert.False(line.Contains(secret, StringComparison.Ordinal), $"a credential is in the log: {line.Replace(secret, "<SECRET>", StringComparison.Ordinal)}");
                }
            }
        }
    }
}
