using System.Net;
using System.Text;
using Airlock.Core.Audit;
using Airlock.Core.Identity;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Airlock.FunctionalTests;

/// <summary>Claude Code presents the gateway key as x-api-key, Authorization: Bearer, or both (apiKeyHelper).</summary>
public sealed class AuthenticationTests(ITestOutputHelper output)
{
    public enum KeyPlacement
    {
        ApiKeyHeader,
        BearerToken,
        Both,
    }

    [Theory]
    [InlineData(KeyPlacement.ApiKeyHeader)]
    [InlineData(KeyPlacement.BearerToken)]
    [InlineData(KeyPlacement.Both)]
    public async Task Developer_key_is_accepted_in_every_place_claude_code_puts_it(KeyPlacement placement)
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        using var request = GatewayHarness.Post("/v1/messages?beta=true", Encoding.UTF8.GetBytes(RequestBodies.Streaming()), apiKey: null);
        if (placement is KeyPlacement.ApiKeyHeader or KeyPlacement.Both)
        {
            request.Headers.TryAddWithoutValidation("x-api-key", harness.DeveloperKey);
        }
        if (placement is KeyPlacement.BearerToken or KeyPlacement.Both)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        }

        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_stop", events[^1].Name);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal(harness.DeveloperKeyRecord.Id, record.KeyId);
        var received = Assert.Single(harness.Upstream.Requests);
        Assert.False(received.Headers.ContainsKey("authorization"));
        Assert.Equal([harness.Upstream.ApiKey], received.Headers["x-api-key"]);
    }

    [Fact]
    public async Task Missing_key_is_401_and_recorded()
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using var request = GatewayHarness.Post("/v1/messages", Encoding.UTF8.GetBytes(RequestBodies.Streaming()), apiKey: null);
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error");
        Assert.Contains("x-api-key", message, StringComparison.Ordinal);
        Assert.Equal("Bearer realm=\"airlock\"", response.Headers.WwwAuthenticate.ToString());
        await AssertRejectedAsync(harness, 401, "auth_missing", keyId: null);
    }

    [Fact]
    public async Task Bearer_scheme_other_than_bearer_is_missing()
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using var request = GatewayHarness.Post("/v1/messages", Encoding.UTF8.GetBytes(RequestBodies.Streaming()), apiKey: null);
        request.Headers.TryAddWithoutValidation("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("ada:" + harness.DeveloperKey)));
        using var response = await harness.Client.SendAsync(request);

        await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error");
        await AssertRejectedAsync(harness, 401, "auth_missing", keyId: null);
    }

    [Fact]
    public async Task Well_formed_key_never_issued_is_401_unknown()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var (stranger, _) = ApiKeys.Generate();

        using var request = GatewayHarness.Post("/v1/messages", Encoding.UTF8.GetBytes(RequestBodies.Streaming()), stranger);
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error");
        Assert.DoesNotContain(stranger, message, StringComparison.Ordinal);
        await AssertRejectedAsync(harness, 401, "auth_unknown", keyId: null);
    }

    [Fact]
    public async Task Known_id_with_a_forged_secret_is_401_unknown()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var body = harness.DeveloperKey[..17] + new string('Z', 32);
        var forged = body + Base62.Encode(System.IO.Hashing.Crc32.HashToUInt32(Encoding.ASCII.GetBytes(body)), 6);

        using var request = GatewayHarness.Post("/v1/messages", Encoding.UTF8.GetBytes(RequestBodies.Streaming()), forged);
        using var response = await harness.Client.SendAsync(request);

        await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error");
        await AssertRejectedAsync(harness, 401, "auth_unknown", keyId: null);
    }

    [Theory]
    [InlineData("sk-ant-api03-not-an-airlock-key")]
    [InlineData("typo")]
    public async Task Malformed_key_is_401(string kind)
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var presented = kind == "typo"
            ? harness.DeveloperKey[..25] + (harness.DeveloperKey[25] == 'x' ? 'y' : 'x') + harness.DeveloperKey[26..]
            : kind;

        using var request = GatewayHarness.Post("/v1/messages", Encoding.UTF8.GetBytes(RequestBodies.Streaming()), presented);
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error");
        Assert.DoesNotContain(presented, message, StringComparison.Ordinal);
        await AssertRejectedAsync(harness, 401, "auth_malformed", keyId: null);
    }

    [Fact]
    public async Task Revocation_stops_the_very_next_request()
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using (var first = harness.Messages(RequestBodies.NonStreaming()))
        using (var response = await harness.Client.SendAsync(first))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.True(await harness.Gateway.Store.RevokeKeyAsync(harness.DeveloperKeyRecord.Id, DateTimeOffset.UtcNow));
        using (var second = harness.Messages(RequestBodies.NonStreaming()))
        using (var response = await harness.Client.SendAsync(second))
        {
            var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error");
            Assert.Contains("revoked", message, StringComparison.Ordinal);
        }

        var records = await harness.AuditAsync(2);
        Assert.Equal(2, records.Count);
        Assert.Equal(AuditOutcome.Ok, records[0].Outcome);
        Assert.Equal(AuditOutcome.Rejected, records[1].Outcome);
        Assert.Equal("auth_revoked", records[1].ErrorType);
        Assert.Equal(harness.DeveloperKeyRecord.Id, records[1].KeyId);
        Assert.Equal(GatewayHarness.DeveloperUser, records[1].User);
        Assert.Single(harness.Upstream.Requests);
    }

    [Fact]
    public async Task Expired_key_is_401()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        // Issued two days ago for one day.
        var issuedAt = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-2));
        var (key, record) = await harness.IssueKeyAsync("old-laptop", expiresIn: TimeSpan.FromDays(1), time: issuedAt);

        using var request = GatewayHarness.Post("/v1/messages", Encoding.UTF8.GetBytes(RequestBodies.Streaming()), key);
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error");
        Assert.Contains("expired", message, StringComparison.Ordinal);
        await AssertRejectedAsync(harness, 401, "auth_expired", record.Id);
    }

    [Fact]
    public async Task Auditor_key_cannot_call_models()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var (key, record) = await harness.IssueKeyAsync("reviewer", KeyRole.Auditor);

        using var request = GatewayHarness.Post("/v1/messages", Encoding.UTF8.GetBytes(RequestBodies.Streaming()), key);
        using var response = await harness.Client.SendAsync(request);

        // The auditor role reads the trail; it never talks to a model.
        await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Forbidden, "permission_error");
        await AssertRejectedAsync(harness, 403, "auth_forbidden", record.Id);
    }

    [Fact]
    public async Task Models_and_count_tokens_need_a_key_too()
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using var models = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        using var modelsResponse = await harness.Client.SendAsync(models);
        using var count = GatewayHarness.Post("/v1/messages/count_tokens", Encoding.UTF8.GetBytes(RequestBodies.NonStreaming()), apiKey: null);
        using var countResponse = await harness.Client.SendAsync(count);

        await ErrorAssert.IsAnthropicErrorAsync(modelsResponse, HttpStatusCode.Unauthorized, "authentication_error");
        await ErrorAssert.IsAnthropicErrorAsync(countResponse, HttpStatusCode.Unauthorized, "authentication_error");
        var records = await harness.AuditAsync(2);
        Assert.Equal(["count_tokens", "models"], records.Select(r => r.Operation).Order(StringComparer.Ordinal));
        Assert.All(records, r => Assert.Equal("auth_missing", r.ErrorType));
        Assert.Empty(harness.Upstream.Requests);
    }

    private static async Task AssertRejectedAsync(GatewayHarness harness, int status, string errorType, string? keyId)
    {
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Rejected, record.Outcome);
        Assert.Equal(status, record.Status);
        Assert.Equal(errorType, record.ErrorType);
        Assert.Equal(keyId, record.KeyId);
        Assert.Null(record.Upstream);
        Assert.Null(record.TimeToFirstByteMs);
        Assert.Empty(harness.Upstream.Requests);
    }
}
