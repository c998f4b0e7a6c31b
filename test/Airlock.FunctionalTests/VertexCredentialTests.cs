using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// The gateway's Google credentials for a Vertex upstream (issue 4, bad input: "expired or missing cloud credentials …
/// each gets a precise error in the door's own shape and an audit record. Cloud credentials never appear in logs or
/// errors"): an access token that expires is replaced before it is used again, a token Vertex stops accepting is a
/// precise error and is not used again, a refused service account is an error in each door's shape, and no token or
/// key material reaches a response, a log line, an audit row or any file in the data directory. Also the model map
/// of a Vertex upstream, through the Messages and the Vertex door.
/// </summary>
public sealed class VertexCredentialTests(ITestOutputHelper output)
{
    private const string VertexBody =
        "{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":1024,\"stream\":true," +
        "\"messages\":[{\"role\":\"user\",\"content\":\"hello " + RequestBodies.ContentMarker + "\"}]}";

    private const string BedrockBody =
        "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":1024,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";

    private static HttpRequestMessage VertexDoorRequest(GatewayHarness harness, string model = RequestBodies.Model) =>
        VertexTests.DoorRequest(harness, VertexTests.DoorPath(model), VertexBody);

    private static HttpRequestMessage BedrockDoorRequest(GatewayHarness harness) =>
        BedrockTests.DoorRequest(harness, RequestBodies.Model, stream: false, body: BedrockBody);

    /// <summary>Every file the gateway wrote (audit database, WAL, journal), as text: none may hold a credential.</summary>
    private static string DataDirectoryText(string dataDir) => string.Join('\n', Directory
        .EnumerateFiles(dataDir, "*", SearchOption.AllDirectories)
        // The service-account file is the harness's, the audit signing key the gateway's own (a PEM "PRIVATE KEY" too);
        // the journal's lock file is empty and held exclusively.
        .Where(f => Path.GetFileName(f) is not ("service-account.json" or AuditSigningKey.FileName or "lock"))
        .Select(f =>
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            return reader.ReadToEnd();
        }));

    private static async Task WaitUntilExpiredAsync(ScriptedGoogleAuth auth, string token)
    {
        var expiry = auth.ExpiryOf(token) ?? throw new InvalidOperationException("token not issued");
        // Waits for the state (the scripted endpoint's expiry of this token), not for a guessed duration.
        while (DateTimeOffset.UtcNow <= expiry)
        {
            await Task.Delay(expiry - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(20));
        }
    }

    [Fact]
    public async Task An_expired_access_token_is_replaced_before_it_is_used_again()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
        var auth = harness.Upstream.GoogleAuth;
        // expires_in: 2. Google.Apis.Auth treats a token inside its expiry window as unusable and fetches a new one
        // before the call instead of sending it (a token the scripted Vertex would answer 401 to once it expired).
        auth.TokenLifetime = TimeSpan.FromSeconds(2);

        using (var first = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }
        var firstToken = Assert.Single(auth.IssuedTokens);
        await WaitUntilExpiredAsync(auth, firstToken);

        using (var second = await harness.Client.SendAsync(VertexDoorRequest(harness)))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            await second.Content.ReadAsStringAsync();
        }

        Assert.Equal(2, auth.Grants);
        var tokens = auth.IssuedTokens;
        Assert.NotEqual(tokens[0], tokens[1]);
        var calls = harness.Upstream.VertexRequests;
        Assert.Equal(2, calls.Count);
        Assert.Equal("Bearer " + tokens[0], calls[0].Header("authorization"));
        Assert.Equal("Bearer " + tokens[1], calls[1].Header("authorization"));
        var records = await harness.AuditAsync(2);
        Assert.All(records, r => Assert.Equal(AuditOutcome.Ok, r.Outcome));
    }

    [Fact]
    public async Task A_token_vertex_no_longer_accepts_is_renewed_once_and_the_call_is_sent_again()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
        var auth = harness.Upstream.GoogleAuth;
        using (var first = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }
        var revoked = Assert.Single(auth.IssuedTokens);
        // The token is still within its lifetime for the gateway's library, but Vertex no longer accepts it (revoked,
        // or the key behind it disabled): Vertex's 401 makes the gateway fetch a new token and send the call again.
        auth.RevokeAll();

        using (var door = await harness.SendStreamingAsync(VertexDoorRequest(harness)))
        {
            Assert.Equal(HttpStatusCode.OK, door.StatusCode);
            await door.Content.ReadAsStringAsync();
        }

        Assert.Equal(2, auth.Grants);
        var calls = harness.Upstream.VertexRequests;
        Assert.Equal(3, calls.Count);
        Assert.Equal("Bearer " + revoked, calls[1].Header("authorization"));
        Assert.Equal("Bearer " + auth.IssuedTokens[1], calls[2].Header("authorization"));
        Assert.Equal(calls[1].BodyText, calls[2].BodyText);
        var records = await harness.AuditAsync(2);
        Assert.All(records, r => Assert.Equal(AuditOutcome.Ok, r.Outcome));
    }

    [Fact]
    public async Task A_401_a_new_token_does_not_cure_is_a_precise_error_in_each_doors_shape_after_one_renewal()
    {
        var log = new CapturingOutput(output);
        await using var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Vertex);
        var auth = harness.Upstream.GoogleAuth;
        auth.RefuseAllTokens = true;

        using var door = await harness.Client.SendAsync(VertexDoorRequest(harness));
        var doorBody = await door.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, door.StatusCode);
        var (code, status, message) = VertexTests.GoogleError(doorBody);
        Assert.Equal(401, code);
        Assert.Equal("UNAUTHENTICATED", status);
        Assert.Contains("Vertex AI refused the gateway's access token for upstream 'main'", message, StringComparison.Ordinal);
        // One renewal, not a loop: two tokens, two calls.
        Assert.Equal(2, auth.Grants);
        Assert.Equal(2, harness.Upstream.VertexRequests.Count);

        using var messages = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming()));
        var messagesBody = await messages.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, messages.StatusCode);
        var anthropicMessage = ErrorAssert.IsErrorJson(messagesBody, "authentication_error");
        Assert.Contains("Vertex AI refused the gateway's access token for upstream 'main'", anthropicMessage, StringComparison.Ordinal);

        using var bedrock = await harness.Client.SendAsync(BedrockDoorRequest(harness));
        var bedrockBody = await bedrock.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, bedrock.StatusCode);
        Assert.Equal("UnrecognizedClientException", bedrock.Headers.GetValues("x-amzn-ErrorType").Single());

        var records = await harness.AuditAsync(3);
        Assert.Equal(["vertex", "messages", "bedrock"], records.Select(r => r.Door));
        Assert.All(records, r =>
        {
            Assert.Equal(AuditOutcome.UpstreamError, r.Outcome);
            Assert.Equal("upstream_status_401", r.ErrorType);
            Assert.Equal(401, r.Status);
        });

        // Once Vertex accepts tokens again, the next call is served (the refused credential was not kept).
        auth.RefuseAllTokens = false;
        using (var healed = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())))
        {
            Assert.Equal(HttpStatusCode.OK, healed.StatusCode);
        }

        log.Secrets.AddRange(auth.IssuedTokens);
        log.AddServiceAccountKey(harness.DataDir);
        log.AssertNoSecretIn(doorBody, "the Vertex door's error");
        log.AssertNoSecretIn(messagesBody, "the Messages door's error");
        log.AssertNoSecretIn(bedrockBody, "the Bedrock door's error");
        log.AssertNoSecretIn(JsonSerializer.Serialize(records), "an audit record");
        log.AssertNoSecretIn(DataDirectoryText(harness.DataDir), "the data directory");
        log.AssertNoSecret();
    }

    [Fact]
    public async Task A_refused_service_account_is_an_error_in_each_doors_shape_with_an_audit_record_and_no_key_material()
    {
        var log = new CapturingOutput(output);
        await using var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Vertex);
        harness.Upstream.GoogleAuth.RefuseGrants = true;

        using var vertex = await harness.Client.SendAsync(VertexDoorRequest(harness));
        var vertexBody = await vertex.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadGateway, vertex.StatusCode);
        Assert.Equal("application/json", vertex.Content.Headers.ContentType?.MediaType);
        var (code, status, message) = VertexTests.GoogleError(vertexBody);
        Assert.Equal(502, code);
        Assert.Equal("UNAVAILABLE", status);
        Assert.Contains("upstream 'main' credentials are unavailable", message, StringComparison.Ordinal);
        Assert.Contains("invalid_grant", message, StringComparison.Ordinal);

        using var bedrock = await harness.Client.SendAsync(BedrockDoorRequest(harness));
        var bedrockBody = await bedrock.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadGateway, bedrock.StatusCode);
        Assert.Equal("InternalServerException", bedrock.Headers.GetValues("x-amzn-ErrorType").Single());
        using (var aws = JsonDocument.Parse(bedrockBody))
        {
            Assert.Contains("invalid_grant", aws.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Empty(harness.Upstream.VertexRequests);
        Assert.Equal(0, harness.Upstream.GoogleAuth.Grants);
        var records = await harness.AuditAsync(2);
        Assert.Equal(["vertex", "bedrock"], records.Select(r => r.Door));
        Assert.All(records, r =>
        {
            Assert.Equal("upstream_credentials", r.ErrorType);
            Assert.Equal(AuditOutcome.UpstreamError, r.Outcome);
            Assert.Equal(502, r.Status);
            Assert.Equal("main", r.Upstream);
        });

        log.AddServiceAccountKey(harness.DataDir);
        log.Secrets.Add(harness.DeveloperKey);
        log.AssertNoSecretIn(vertexBody, "the Vertex door's error");
        log.AssertNoSecretIn(bedrockBody, "the Bedrock door's error");
        log.AssertNoSecretIn(JsonSerializer.Serialize(records), "an audit record");
        log.AssertNoSecretIn(DataDirectoryText(harness.DataDir), "the data directory");
        log.AssertNoSecret();
    }

    [Fact]
    public async Task A_mapped_model_reaches_vertex_by_its_vertex_id_through_the_messages_and_the_vertex_door()
    {
        const string VertexModel = "claude-opus-4-1@20250805";
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { ModelMap = [new ModelMapping { Match = "claude-opus-*", Model = VertexModel }] }],
        });

        using (var messages = await harness.SendStreamingAsync(harness.Messages(RequestBodies.Streaming())))
        {
            Assert.Equal(HttpStatusCode.OK, messages.StatusCode);
            await messages.Content.ReadAsStringAsync();
        }
        using (var door = await harness.SendStreamingAsync(VertexDoorRequest(harness)))
        {
            Assert.Equal(HttpStatusCode.OK, door.StatusCode);
            await door.Content.ReadAsStringAsync();
        }
        // A model the map does not match goes to Vertex under its own name.
        using (var unmapped = await harness.SendStreamingAsync(VertexDoorRequest(harness, "claude-sonnet-4-5@20250929")))
        {
            Assert.Equal(HttpStatusCode.OK, unmapped.StatusCode);
            await unmapped.Content.ReadAsStringAsync();
        }

        var prefix = $"/v1/projects/{harness.Upstream.GoogleAuth.ProjectId}/locations/{GatewayHarness.VertexRegion}/publishers/anthropic/models/";
        Assert.Equal(
            [prefix + VertexModel + ":streamRawPredict", prefix + VertexModel + ":streamRawPredict", prefix + "claude-sonnet-4-5@20250929:streamRawPredict"],
            harness.Upstream.VertexRequests.Select(r => r.Path));
        using (var body = harness.Upstream.VertexRequests[0].ParseBody())
        {
            Assert.False(body.RootElement.TryGetProperty("model", out _));
        }
        var records = await harness.AuditAsync(3);
        Assert.Equal(["messages", "vertex", "vertex"], records.Select(r => r.Door));
        Assert.All(records, r => Assert.Equal(AuditOutcome.Ok, r.Outcome));
    }

    [Fact]
    public async Task A_credential_file_gone_after_startup_is_a_precise_error_until_it_is_back()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
        var file = Path.Combine(harness.DataDir, "service-account.json");
        // A mounted secret being rotated: the file is missing when the first request needs a token.
        File.Delete(file);

        using var missing = await harness.Client.SendAsync(VertexDoorRequest(harness));
        Assert.Equal(HttpStatusCode.BadGateway, missing.StatusCode);
        var (_, status, message) = VertexTests.GoogleError(await missing.Content.ReadAsStringAsync());
        Assert.Equal("UNAVAILABLE", status);
        Assert.Contains($"credential file {file} cannot be read", message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.VertexRequests);

        // Back again: the next request loads it (a failed load is not cached) and is served.
        Assert.Equal(file, harness.Upstream.GoogleAuth.WriteServiceAccountFile(harness.DataDir, harness.Upstream.BaseUri));
        using var back = await harness.Client.SendAsync(VertexDoorRequest(harness));
        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
        Assert.Equal(1, harness.Upstream.GoogleAuth.Grants);

        var records = await harness.AuditAsync(2);
        Assert.Equal("upstream_credentials", records[0].ErrorType);
        Assert.Equal(AuditOutcome.UpstreamError, records[0].Outcome);
        Assert.Equal(AuditOutcome.Ok, records[1].Outcome);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("garbled key")]
    public async Task A_corrupt_credential_file_is_a_precise_error_that_quotes_none_of_it(string damage)
    {
        var log = new CapturingOutput(output);
        await using var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Vertex);
        var file = Path.Combine(harness.DataDir, "service-account.json");
        log.AddServiceAccountKey(harness.DataDir);
        var json = await File.ReadAllTextAsync(file);
        var keyStart = json.IndexOf("MII", StringComparison.Ordinal);
        Assert.True(keyStart > 0);
        // Cut inside the private key; or keep the JSON valid and the PEM body base64, but not a key (its first 400
        // characters' capitals flattened, the JSON "\n" escapes untouched).
        var damaged = damage == "truncated"
            ? json[..(keyStart + 200)]
            : json[..keyStart] + new string([.. json.Substring(keyStart, 400).Select(c => c is >= 'A' and <= 'Z' ? 'Q' : c)]) + json[(keyStart + 400)..];
        await File.WriteAllTextAsync(file, damaged);

        using var response = await harness.Client.SendAsync(VertexDoorRequest(harness));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var (_, status, message) = VertexTests.GoogleError(body);
        Assert.Equal("UNAVAILABLE", status);
        Assert.Contains($"credential file {file}", message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.VertexRequests);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("upstream_credentials", record.ErrorType);
        foreach (var chunk in damaged.Split('"', '\\').Where(p => p.Length >= 40))
        {
            log.Secrets.Add(chunk[..40]);
        }
        log.AssertNoSecretIn(body, "the error");
        log.AssertNoSecretIn(JsonSerializer.Serialize(record), "the audit record");
        log.AssertNoSecret();
    }
}
