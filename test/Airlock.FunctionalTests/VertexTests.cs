using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// The Vertex upstream (OAuth through a real service-account file and a scripted token endpoint) and the Vertex
/// front door, each against the other upstream kinds, and the bad input of issue 4 in Google's error shape.
/// </summary>
public sealed class VertexTests(ITestOutputHelper output)
{
    private const string VertexBody =
        "{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":1024,\"stream\":true,\"future_field\":{\"k\" : [1,2]}," +
        "\"messages\":[{\"role\":\"user\",\"content\":\"hello " + RequestBodies.ContentMarker + "\"}]}";

    internal static string DoorPath(string model = RequestBodies.Model, string method = "streamRawPredict", string location = GatewayHarness.VertexRegion) =>
        $"/vertex/v1/projects/client-project/locations/{location}/publishers/anthropic/models/{model}:{method}";

    internal static HttpRequestMessage DoorRequest(GatewayHarness harness, string path, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        GatewayHarness.AddClaudeCodeHeaders(request);
        // Claude Code in Vertex mode with CLAUDE_CODE_SKIP_VERTEX_AUTH=1 sends the gateway key via ANTHROPIC_AUTH_TOKEN.
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        return request;
    }

    internal static (int Code, string Status, string Message) GoogleError(string json)
    {
        using var document = JsonDocument.Parse(json);
        var error = document.RootElement.GetProperty("error");
        return (error.GetProperty("code").GetInt32(), error.GetProperty("status").GetString()!, error.GetProperty("message").GetString()!);
    }

    [Fact]
    public async Task Messages_door_to_vertex_upstream_streams_with_an_oauth_token_and_a_vertex_body()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
        harness.Upstream.Enqueue(UpstreamReply.Text("Hello from Vertex.", inputTokens: 321, outputTokens: 9));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("message_stop", events[^1].Name);
        var received = Assert.Single(harness.Upstream.VertexRequests);
        Assert.Equal($"/v1/projects/test-project/locations/{GatewayHarness.VertexRegion}/publishers/anthropic/models/{RequestBodies.Model}:streamRawPredict", received.Path);
        Assert.StartsWith("Bearer ya29.scripted-", received.Header("authorization"));
        Assert.Equal(1, harness.Upstream.GoogleAuth.Grants);
        Assert.Equal("claude-code-20250219,interleaved-thinking-2025-05-14", received.Header("anthropic-beta"));
        Assert.Null(received.Header("x-api-key"));
        using (var body = received.ParseBody())
        {
            Assert.False(body.RootElement.TryGetProperty("model", out _));
            Assert.Equal("vertex-2023-10-16", body.RootElement.GetProperty("anthropic_version").GetString());
            Assert.True(body.RootElement.GetProperty("stream").GetBoolean());
            Assert.Equal("adaptive", body.RootElement.GetProperty("thinking").GetProperty("type").GetString());
        }

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal("messages", record.Door);
        Assert.Equal("main", record.Upstream);
        Assert.Equal(321, record.InputTokens);

        // The token is cached: a second turn does not go back to the token endpoint.
        using var second = harness.Messages(RequestBodies.NonStreaming());
        using var secondResponse = await harness.Client.SendAsync(second);
        Assert.Equal(HttpStatusCode.OK, secondResponse.StatusCode);
        Assert.EndsWith(":rawPredict", harness.Upstream.VertexRequests[^1].Path);
        Assert.Equal(1, harness.Upstream.GoogleAuth.Grants);
    }

    [Fact]
    public async Task Vertex_door_to_vertex_upstream_forwards_the_body_byte_for_byte()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
        harness.Upstream.Enqueue(UpstreamReply.Text("Straight through."));

        using var request = DoorRequest(harness, DoorPath(), VertexBody);
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_stop", events[^1].Name);
        var received = Assert.Single(harness.Upstream.VertexRequests);
        Assert.Equal(VertexBody, received.BodyText);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("vertex", record.Door);
        Assert.Equal(RequestBodies.Model, record.Model);
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
    }

    [Fact]
    public async Task A_beta_in_a_vertex_body_is_judged_with_the_header_and_travels_only_in_the_header()
    {
        // Whether Vertex honours an anthropic_beta body member is undocumented: it must not pass the beta policy unjudged
        // (the byte-for-byte path would otherwise forward it).
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex, configure: c => c with
        {
            Betas = [new BetaRuleConfig { Kind = UpstreamKind.Vertex, Beta = "web-fetch-*", Action = "refuse" }],
        });
        static string WithBetas(string betas) => VertexBody.Replace("\"max_tokens\"", "\"anthropic_beta\":[" + betas + "],\"max_tokens\"", StringComparison.Ordinal);

        using var refused = await harness.Client.SendAsync(DoorRequest(harness, DoorPath(), WithBetas("\"web-fetch-2025-09-10\"")));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("web-fetch-2025-09-10", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.VertexRequests);

        harness.Upstream.Enqueue(UpstreamReply.Text("Judged."));
        using var passed = await harness.SendStreamingAsync(DoorRequest(harness, DoorPath(), WithBetas("\"context-1m-2025-08-07\"")));
        Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
        var received = Assert.Single(harness.Upstream.VertexRequests);
        Assert.Equal("claude-code-20250219,interleaved-thinking-2025-05-14,context-1m-2025-08-07", received.Header("anthropic-beta"));
        using var body = received.ParseBody();
        Assert.False(body.RootElement.TryGetProperty("anthropic_beta", out _));
        Assert.Equal("vertex-2023-10-16", body.RootElement.GetProperty("anthropic_version").GetString());

        var records = await harness.AuditAsync(2, TimeSpan.FromSeconds(30));
        Assert.Contains(records, r => r.Outcome != AuditOutcome.Ok && r.Door == "vertex");
        Assert.Contains(records, r => r.Outcome == AuditOutcome.Ok && r.Door == "vertex");
    }

    [Fact]
    public async Task Vertex_door_to_messages_upstream_puts_model_and_stream_in_the_body()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.ToolUse("Read", new { file_path = "/tmp/x" }));

        using var request = DoorRequest(harness, DoorPath(), VertexBody);
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(events, e => e.Name == "content_block_start" && e.Data.Contains("\"tool_use\"", StringComparison.Ordinal));
        var received = Assert.Single(harness.Upstream.MessagesRequests);
        Assert.Equal(RequestBodies.Model, received.Model);
        Assert.True(received.IsStreaming);
        Assert.Equal(harness.Upstream.ApiKey, received.Header("x-api-key"));
        using (var body = received.ParseBody())
        {
            Assert.False(body.RootElement.TryGetProperty("anthropic_version", out _));
            Assert.Equal("{\"k\" : [1,2]}", body.RootElement.GetProperty("future_field").GetRawText());
        }
        Assert.Equal("vertex", (await harness.SingleAuditAsync()).Door);
    }

    [Fact]
    public async Task Count_tokens_through_the_vertex_door_keeps_the_model_in_the_body()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
        var body = "{\"anthropic_version\":\"vertex-2023-10-16\",\"model\":\"claude-opus-5-5\",\"messages\":[{\"role\":\"user\",\"content\":\"count me\"}]}";

        using var request = DoorRequest(harness, DoorPath("count-tokens", "rawPredict"), body);
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("input_tokens", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var received = Assert.Single(harness.Upstream.VertexRequests);
        Assert.EndsWith("/models/count-tokens:rawPredict", received.Path);
        Assert.Equal("claude-opus-5-5", received.Model);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("count_tokens", record.Operation);
        Assert.Equal("vertex", record.Door);
    }

    [Theory]
    [InlineData("..%2F..%2Fv1%2Fmessages", "invalid_path")]
    [InlineData("%2e%2e", "invalid_path")]
    [InlineData("claude%252Dopus", "invalid_path")]
    [InlineData("claude opus", "invalid_model")]
    public async Task Path_tricks_in_the_model_get_a_google_error_and_an_audit_record(string model, string errorType)
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
        var target = DoorPath(model.Replace(" ", "%20", StringComparison.Ordinal));

        var response = await RawHttp.PostAsync(harness.GatewayUri, target,
            [new("Authorization", "Bearer " + harness.DeveloperKey), new("anthropic-version", "2023-06-01")], Encoding.UTF8.GetBytes(VertexBody));

        Assert.Equal(400, response.Status);
        var (code, status, message) = GoogleError(response.Body);
        Assert.Equal(400, code);
        Assert.Equal("INVALID_ARGUMENT", status);
        Assert.DoesNotContain(RequestBodies.ContentMarker, message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.Requests);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(errorType, record.ErrorType);
        Assert.Equal("vertex", record.Door);
        Assert.Equal(AuditOutcome.Rejected, record.Outcome);
    }

    [Fact]
    public async Task Dot_segments_in_the_raw_path_are_refused()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);

        var response = await RawHttp.PostAsync(harness.GatewayUri,
            "/vertex/v1/projects/p/locations/us-east5/publishers/anthropic/models/../../../../v1/messages:rawPredict",
            [new("Authorization", "Bearer " + harness.DeveloperKey)], Encoding.UTF8.GetBytes(VertexBody));

        Assert.Equal(404, response.Status);
        Assert.Equal("NOT_FOUND", GoogleError(response.Body).Status);
        Assert.Empty(harness.Upstream.Requests);
        Assert.Equal("unknown_path", (await harness.SingleAuditAsync()).ErrorType);
    }

    [Fact]
    public async Task Region_not_allowed_and_unknown_model_are_refused_in_the_google_shape()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex, configure: c => c with
        {
            AllowedRegions = [GatewayHarness.VertexRegion],
            Routes = [new RouteConfig { Models = ["claude-opus-*"], Upstream = "main" }],
        });

        using var region = DoorRequest(harness, DoorPath(location: "asia-northeast1"), VertexBody);
        using var regionResponse = await harness.Client.SendAsync(region);
        var regionError = GoogleError(await regionResponse.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, regionResponse.StatusCode);
        Assert.Equal("PERMISSION_DENIED", regionError.Status);
        Assert.Contains("asia-northeast1", regionError.Message, StringComparison.Ordinal);

        using var unknown = DoorRequest(harness, DoorPath("gpt-5"), VertexBody);
        using var unknownResponse = await harness.Client.SendAsync(unknown);
        Assert.Equal(HttpStatusCode.NotFound, unknownResponse.StatusCode);
        Assert.Equal("NOT_FOUND", GoogleError(await unknownResponse.Content.ReadAsStringAsync()).Status);

        Assert.Empty(harness.Upstream.Requests);
        var records = await harness.AuditAsync(2);
        Assert.Equal(["region_not_allowed", "no_route"], records.Select(r => r.ErrorType));
    }

    [Fact]
    public async Task Missing_gateway_key_on_the_vertex_door_is_a_google_401()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
        using var request = new HttpRequestMessage(HttpMethod.Post, DoorPath()) { Content = new StringContent(VertexBody, Encoding.UTF8, "application/json") };

        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("UNAUTHENTICATED", GoogleError(await response.Content.ReadAsStringAsync()).Status);
        Assert.Equal("auth_missing", (await harness.SingleAuditAsync()).ErrorType);
    }

    [Fact]
    public async Task A_refused_service_account_is_a_502_that_names_no_secret()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
        harness.Upstream.GoogleAuth.RefuseGrants = true;

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadGateway, "api_error");
        Assert.Contains("invalid_grant", message, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.VertexRequests);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("upstream_credentials", record.ErrorType);
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
    }

    [Fact]
    public async Task Vertex_quota_errors_reach_each_door_in_its_own_shape()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
        harness.Upstream.Enqueue(
            UpstreamReply.Error(429, "rate_limit_error", "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model"),
            UpstreamReply.Error(429, "rate_limit_error", "Quota exceeded again"));

        using var messages = harness.Messages(RequestBodies.Streaming());
        using var messagesResponse = await harness.Client.SendAsync(messages);
        var message = await ErrorAssert.IsAnthropicErrorAsync(messagesResponse, HttpStatusCode.TooManyRequests, "rate_limit_error");
        Assert.Contains("Quota exceeded", message, StringComparison.Ordinal);
        Assert.Equal("1", messagesResponse.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));

        using var door = DoorRequest(harness, DoorPath(), VertexBody);
        using var doorResponse = await harness.Client.SendAsync(door);
        Assert.Equal(HttpStatusCode.TooManyRequests, doorResponse.StatusCode);
        Assert.Equal("RESOURCE_EXHAUSTED", GoogleError(await doorResponse.Content.ReadAsStringAsync()).Status);

        var records = await harness.AuditAsync(2);
        Assert.All(records, r => Assert.Equal("upstream_status_429", r.ErrorType));
    }

    [Fact]
    public async Task A_vertex_stream_without_message_stop_ends_with_an_error_event()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
        harness.Upstream.Enqueue(UpstreamReply.DieMidStream(3));

        using var request = DoorRequest(harness, DoorPath(), VertexBody);
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal("error", events[^1].Name);
        Assert.Equal("upstream_stream_broken", (await harness.SingleAuditAsync()).ErrorType);
    }
}
