using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;

namespace Airlock.FunctionalTests;

/// <summary><c>/v1/messages/count_tokens</c> (Claude Code's <c>/context</c>) and <c>/v1/models</c> (gateway model discovery).</summary>
public sealed class OtherEndpointsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Count_tokens_is_forwarded_byte_for_byte_and_recorded()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var body = Encoding.UTF8.GetBytes("{\"model\":\"claude-opus-5-5\", \"messages\":[{\"role\":\"user\",\"content\":\"count me\"}],\"tools\":[]}");

        using var request = GatewayHarness.Post("/v1/messages/count_tokens?beta=true", body, harness.DeveloperKey, "sess-ct");
        using var response = await harness.Client.SendAsync(request);
        var json = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The scripted upstream answers ceil(bytes / 4).
        using var document = JsonDocument.Parse(json);
        Assert.Equal((body.Length + 3) / 4, document.RootElement.GetProperty("input_tokens").GetInt32());
        var received = Assert.Single(harness.Upstream.Requests);
        Assert.Equal("/v1/messages/count_tokens", received.Path);
        Assert.Equal("?beta=true", received.QueryString);
        Assert.Equal(body, received.GetBodyBytes());
        var record = await harness.SingleAuditAsync();
        Assert.Equal("count_tokens", record.Operation);
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal("sess-ct", record.SessionId);
        Assert.Equal("claude-opus-5-5", record.Model);
        Assert.Equal(body.Length, record.RequestBytes);
    }

    [Fact]
    public async Task Models_are_forwarded_to_the_catch_all_upstream()
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models?limit=1000");
        GatewayHarness.AddClaudeCodeHeaders(request);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);
        var json = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(json);
        Assert.Equal(
            ["claude-opus-5-5", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"],
            document.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        var received = Assert.Single(harness.Upstream.Requests);
        Assert.Equal("GET", received.Method);
        Assert.Equal("/v1/models", received.Path);
        Assert.Equal("?limit=1000", received.QueryString);
        Assert.Equal([harness.Upstream.ApiKey], received.Headers["x-api-key"]);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("models", record.Operation);
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal("main", record.Upstream);
    }

    [Fact]
    public async Task Models_are_listed_from_the_routes_when_there_is_no_catch_all()
    {
        await using var harness = await GatewayHarness.StartAsync(output, c => c with
        {
            Routes =
            [
                new RouteConfig { Models = ["claude-opus-5-5", "claude-sonnet-*"], Upstream = "main" },
                new RouteConfig { Models = ["corp-coder", "claude-opus-5-5"], Upstream = "main" },
            ],
        });

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models?limit=1000");
        request.Headers.TryAddWithoutValidation("x-api-key", harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);
        var json = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal(["claude-opus-5-5", "corp-coder"], root.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.All(root.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("type").GetString()));
        Assert.False(root.GetProperty("has_more").GetBoolean());
        Assert.Equal("claude-opus-5-5", root.GetProperty("first_id").GetString());
        Assert.Equal("corp-coder", root.GetProperty("last_id").GetString());
        Assert.Empty(harness.Upstream.Requests);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("models", record.Operation);
        Assert.Equal(200, record.Status);
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
    }

    [Fact]
    public async Task Health_endpoint_answers_without_a_key()
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        var text = await harness.Client.GetStringAsync("/healthz");

        Assert.Equal("ok\n", text);
    }
}
