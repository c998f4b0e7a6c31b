using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Airlock.Testing;
using Google.Apis.Auth.OAuth2;

namespace Airlock.EndToEndTests;

/// <summary>
/// The scripted Vertex upstream must refuse what Vertex refuses (issue 4: "the scripted Vertex upstream checks the bearer
/// token"): no token, a token its token endpoint never issued, an expired or revoked one all get Google's
/// <c>401 UNAUTHENTICATED</c>, and only a token it granted (to a JWT-bearer assertion signed with the service account's
/// key, RFC 7523) passes. Driven over real loopback sockets with a plain HttpClient and with Google.Apis.Auth itself.
/// </summary>
public sealed class ScriptedVertexSelfTests : IAsyncLifetime
{
    private const string Body = """{"anthropic_version":"vertex-2023-10-16","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}""";

    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(60) };
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "airlock-vertex-self-" + Guid.NewGuid().ToString("N"));
    private ScriptedUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await ScriptedUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _client.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private ScriptedGoogleAuth Auth => _upstream.GoogleAuth;

    private Uri TokenUri => new(_upstream.BaseUri, ScriptedGoogleAuth.TokenPath);

    private async Task<HttpResponseMessage> RawPredictAsync(string? authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post,
            $"{_upstream.BaseUrl}/v1/projects/{Auth.ProjectId}/locations/us-east5/publishers/anthropic/models/claude-opus-5-5:rawPredict")
        {
            Content = new StringContent(Body, Encoding.UTF8, "application/json"),
        };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        return await _client.SendAsync(request);
    }

    /// <summary>Asserts Google's error shape (google.rpc.Status over HTTP, AIP-193) for a 401 and returns the message.</summary>
    private static async Task<string> AssertUnauthenticatedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = document.RootElement.GetProperty("error");
        Assert.Equal(401, error.GetProperty("code").GetInt32());
        Assert.Equal("UNAUTHENTICATED", error.GetProperty("status").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("invalid authentication credentials", message, StringComparison.Ordinal);
        return message;
    }

    /// <summary>The service account's private key, read back from the service-account file the scripted auth wrote.</summary>
    private RSA ServiceAccountKey()
    {
        using var file = JsonDocument.Parse(File.ReadAllText(Auth.WriteServiceAccountFile(_directory, _upstream.BaseUri)));
        var key = RSA.Create();
        key.ImportFromPem(file.RootElement.GetProperty("private_key").GetString());
        return key;
    }

    /// <summary>A JWT-bearer assertion (RFC 7523 §2.1) as Google's libraries build it: RS256 over header.claims.</summary>
    private static string Assertion(RSA key, string issuer, string audience, string scope, DateTimeOffset issuedAt, TimeSpan lifetime)
    {
        static string Encode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var header = Encode(JsonSerializer.SerializeToUtf8Bytes(new { alg = "RS256", typ = "JWT" }));
        var claims = Encode(JsonSerializer.SerializeToUtf8Bytes(new
        {
            iss = issuer,
            aud = audience,
            scope,
            iat = issuedAt.ToUnixTimeSeconds(),
            exp = (issuedAt + lifetime).ToUnixTimeSeconds(),
        }));
        var signature = key.SignData(Encoding.ASCII.GetBytes(header + "." + claims), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return header + "." + claims + "." + Encode(signature);
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> RequestTokenAsync(string assertion, string grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        using var content = new FormUrlEncodedContent([new("grant_type", grantType), new("assertion", assertion)]);
        using var response = await _client.PostAsync(TokenUri, content);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }

    private async Task<string> GrantedTokenAsync()
    {
        using var key = ServiceAccountKey();
        var (status, json) = await RequestTokenAsync(Assertion(key, Auth.ClientEmail, TokenUri.ToString(), ScriptedGoogleAuth.CloudPlatformScope, DateTimeOffset.UtcNow, TimeSpan.FromHours(1)));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Bearer", json.GetProperty("token_type").GetString());
        Assert.Equal((int)Auth.TokenLifetime.TotalSeconds, json.GetProperty("expires_in").GetInt32());
        return json.GetProperty("access_token").GetString()!;
    }

    [Fact]
    public async Task A_request_without_a_bearer_token_is_unauthenticated_and_never_answered()
    {
        using var response = await RawPredictAsync(authorization: null);

        await AssertUnauthenticatedAsync(response);
        Assert.Single(_upstream.Requests);
        Assert.Equal(0, Auth.Grants);
    }

    [Theory]
    [InlineData("Bearer ya29.a0AfH6SMBforeign-token-never-issued-here")]
    [InlineData("Bearer ")]
    [InlineData("Basic YWlybG9jazpzZWNyZXQ=")]
    public async Task A_token_this_endpoint_did_not_issue_is_unauthenticated(string authorization)
    {
        // A real token exists, so a check that accepted "any token once one was issued" would fail here.
        _ = await GrantedTokenAsync();

        using var response = await RawPredictAsync(authorization);

        await AssertUnauthenticatedAsync(response);
    }

    [Fact]
    public async Task A_granted_token_passes_and_the_same_token_with_one_character_changed_does_not()
    {
        var token = await GrantedTokenAsync();

        using (var accepted = await RawPredictAsync("Bearer " + token))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
            using var message = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync());
            Assert.Equal("message", message.RootElement.GetProperty("type").GetString());
        }
        var tampered = token[..^1] + (token[^1] == '0' ? '1' : '0');
        using var refused = await RawPredictAsync("Bearer " + tampered);
        await AssertUnauthenticatedAsync(refused);
        Assert.Equal([token], Auth.IssuedTokens);
    }

    [Fact]
    public async Task An_expired_token_is_unauthenticated()
    {
        Auth.TokenLifetime = TimeSpan.FromSeconds(1);
        var token = await GrantedTokenAsync();
        var expiry = Auth.ExpiryOf(token)!.Value;

        // Waits for the state (the token's expiry), not for a guessed duration.
        while (DateTimeOffset.UtcNow <= expiry)
        {
            await Task.Delay(expiry - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(20));
        }
        using var response = await RawPredictAsync("Bearer " + token);

        await AssertUnauthenticatedAsync(response);
    }

    [Fact]
    public async Task A_revoked_token_is_unauthenticated_and_a_new_grant_passes()
    {
        var revoked = await GrantedTokenAsync();
        Auth.RevokeAll();

        using (var refused = await RawPredictAsync("Bearer " + revoked))
        {
            await AssertUnauthenticatedAsync(refused);
        }
        Assert.Null(Auth.ExpiryOf(revoked));
        var fresh = await GrantedTokenAsync();
        using var accepted = await RawPredictAsync("Bearer " + fresh);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(2, Auth.Grants);
    }

    [Fact]
    public async Task The_token_endpoint_refuses_assertions_google_refuses()
    {
        using var key = ServiceAccountKey();
        using var foreignKey = RSA.Create(2048);
        var now = DateTimeOffset.UtcNow;
        var audience = TokenUri.ToString();
        var scope = ScriptedGoogleAuth.CloudPlatformScope;

        // Each assertion breaks one thing Google's token endpoint checks; each is invalid_grant (RFC 7523 §3.1).
        string[] refusedAssertions =
        [
            Assertion(foreignKey, Auth.ClientEmail, audience, scope, now, TimeSpan.FromHours(1)),
            Assertion(key, "someone-else@test-project.iam.gserviceaccount.com", audience, scope, now, TimeSpan.FromHours(1)),
            Assertion(key, Auth.ClientEmail, "https://token.example/other", scope, now, TimeSpan.FromHours(1)),
            Assertion(key, Auth.ClientEmail, audience, "https://www.googleapis.com/auth/userinfo.email", now, TimeSpan.FromHours(1)),
            Assertion(key, Auth.ClientEmail, audience, scope, now - TimeSpan.FromHours(2), TimeSpan.FromHours(1)),
        ];
        foreach (var assertion in refusedAssertions)
        {
            var (status, json) = await RequestTokenAsync(assertion);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("invalid_grant", json.GetProperty("error").GetString());
        }
        var (wrongGrantStatus, wrongGrant) = await RequestTokenAsync(Assertion(key, Auth.ClientEmail, audience, scope, now, TimeSpan.FromHours(1)), "client_credentials");
        Assert.Equal(HttpStatusCode.BadRequest, wrongGrantStatus);
        Assert.Equal("unsupported_grant_type", wrongGrant.GetProperty("error").GetString());

        Auth.RefuseGrants = true;
        var (disabledStatus, disabled) = await RequestTokenAsync(Assertion(key, Auth.ClientEmail, audience, scope, now, TimeSpan.FromHours(1)));
        Assert.Equal(HttpStatusCode.BadRequest, disabledStatus);
        Assert.Equal("invalid_grant", disabled.GetProperty("error").GetString());
        Assert.Equal(0, Auth.Grants);
        Assert.Empty(Auth.IssuedTokens);
    }

    [Fact]
    public async Task Google_apis_auth_obtains_a_token_the_scripted_vertex_accepts()
    {
        // The same library and call the gateway uses: a service-account file whose token_uri is the scripted endpoint.
        var path = Auth.WriteServiceAccountFile(_directory, _upstream.BaseUri);
        var credential = (await CredentialFactory.FromFileAsync(path, JsonCredentialParameters.ServiceAccountCredentialType, CancellationToken.None))
            .CreateScoped(ScriptedGoogleAuth.CloudPlatformScope);

        var token = await ((ITokenAccess)credential).GetAccessTokenForRequestAsync();

        Assert.Equal([token], Auth.IssuedTokens);
        using var response = await RawPredictAsync("Bearer " + token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_upstream.VertexRequests);
        Assert.Equal("Bearer " + token, received.Header("authorization"));
    }
}
