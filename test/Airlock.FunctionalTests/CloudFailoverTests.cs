using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// Retries and failover with the cloud upstreams (issue 4, deliverable 7), through the real gateway: Bedrock's
/// AWS-shaped throttling and Vertex's Google-shaped quota errors are retried on the same upstream after a jittered
/// backoff, an exhausted upstream hands the request to the route's next upstream of another kind, and nothing is
/// retried once a byte of the answer reached the client. A Bedrock stream that opens with a throttling exception frame
/// is still before the first client byte, so it is retried like an HTTP 429.
/// </summary>
public sealed class CloudFailoverTests(ITestOutputHelper output)
{
    private const string ProfileId = "us.anthropic.claude-opus-5-5-v1:0";

    private static readonly ModelMapping[] OpusToProfile = [new ModelMapping { Match = "claude-opus-*", Model = ProfileId }];

    /// <summary>Bedrock (first, retried once) then the harness's Vertex upstream, in one route.</summary>
    private static Func<AirlockConfig, AirlockConfig> BedrockThenVertex(int bedrockRetries) => c => c with
    {
        Upstreams =
        [
            new UpstreamConfig
            {
                Name = "bedrock", Kind = UpstreamKind.Bedrock, Url = c.Upstreams[0].Url, Region = ScriptedUpstream.BedrockRegion,
                ModelMap = OpusToProfile, Retries = bedrockRetries, RetryBackoff = TimeSpan.FromMilliseconds(10),
            },
            c.Upstreams[0] with { Name = "vertex" },
        ],
        Routes = [new RouteConfig { Models = ["*"], Upstream = "bedrock", Fallbacks = ["vertex"] }],
    };

    [Fact]
    public async Task Bedrock_throttling_is_retried_on_the_same_upstream_and_the_client_sees_one_clean_answer()
    {
        var log = new CapturingOutput(output);
        var jitter = new CountingRandom();
        await using var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Bedrock, retryJitter: jitter, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { ModelMap = OpusToProfile, Retries = 2, RetryBackoff = TimeSpan.FromMilliseconds(10) }],
        });
        // Scripted Bedrock writes HTTP 429 {"message":…} with x-amzn-ErrorType: ThrottlingException.
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.Error(429, "rate_limit_error", "Too many requests, please wait before trying again."));
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.Text("After the throttle."));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_start", events[0].Name);
        Assert.Equal("message_stop", events[^1].Name);
        Assert.DoesNotContain(events, e => e.Name == "error");
        Assert.Equal("After the throttle.", Text(events));
        // Two signed calls (the scripted Bedrock verified both signatures), the same body each time.
        Assert.Equal(2, harness.Upstream.Bedrock.Calls.Count);
        Assert.Single(harness.Upstream.Bedrock.Calls.Select(c => c.Request.BodyText).Distinct());
        Assert.Empty(harness.Upstream.Bedrock.Failures);
        // One jittered backoff, before the one retry.
        Assert.Equal(1, jitter.Draws);

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal(200, record.Status);
        Assert.Equal("main", record.Upstream);
        Assert.Equal(response.Headers.GetValues("x-amzn-RequestId").Single(), record.UpstreamRequestId);
        Assert.Equal(["attempt 1 on upstream main failed before the first byte: upstream_status_429"], Attempts(log, record.RequestId));
    }

    [Fact]
    public async Task Vertex_quota_exhaustion_is_retried_on_the_same_upstream_and_the_client_sees_one_clean_answer()
    {
        var log = new CapturingOutput(output);
        var jitter = new CountingRandom();
        await using var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Vertex, retryJitter: jitter, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { Retries = 2, RetryBackoff = TimeSpan.FromMilliseconds(10) }],
        });
        // The scripted Vertex answers its own quota errors Google-shaped: {"error":{"code":429,"status":"RESOURCE_EXHAUSTED",…}}.
        harness.Upstream.Enqueue(
            UpstreamReply.Error(429, "rate_limit_error", "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model."),
            UpstreamReply.Error(429, "rate_limit_error", "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model."),
            UpstreamReply.Text("After the quota."));

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using (var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()))
        {
            Assert.Equal("message", message.RootElement.GetProperty("type").GetString());
            Assert.Equal("After the quota.", message.RootElement.GetProperty("content")[0].GetProperty("text").GetString());
        }
        Assert.Equal(3, harness.Upstream.VertexRequests.Count);
        Assert.Single(harness.Upstream.VertexRequests.Select(r => r.BodyText).Distinct());
        // One OAuth token serves every attempt (the retries do not hammer the token endpoint).
        Assert.Equal(1, harness.Upstream.GoogleAuth.Grants);
        Assert.Equal(2, jitter.Draws);

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal("main", record.Upstream);
        Assert.Equal(
            ["attempt 1 on upstream main failed before the first byte: upstream_status_429", "attempt 2 on upstream main failed before the first byte: upstream_status_429"],
            Attempts(log, record.RequestId));
    }

    [Fact]
    public async Task Bedrock_exhausted_by_throttling_fails_over_to_vertex_which_serves_the_answer()
    {
        var log = new CapturingOutput(output);
        var jitter = new CountingRandom();
        await using var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Vertex, retryJitter: jitter, configure: BedrockThenVertex(bedrockRetries: 1));
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.Error(503, "overloaded_error", "Bedrock is unable to process your request."));
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.Error(429, "rate_limit_error", "Too many requests, please wait before trying again."));
        harness.Upstream.Enqueue(UpstreamReply.Text("Vertex took over."));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_stop", events[^1].Name);
        Assert.DoesNotContain(events, e => e.Name == "error");
        Assert.Equal("Vertex took over.", Text(events));
        // Both Bedrock attempts were made (signed, mapped to the profile), then one Vertex call with the Vertex body.
        Assert.Equal(2, harness.Upstream.Bedrock.Calls.Count);
        Assert.All(harness.Upstream.Bedrock.Calls, c => Assert.Equal(ProfileId, c.ModelId));
        var vertex = Assert.Single(harness.Upstream.VertexRequests);
        Assert.EndsWith($"/models/{RequestBodies.Model}:streamRawPredict", vertex.Path, StringComparison.Ordinal);
        // One backoff: before Bedrock's retry; moving on to the next upstream does not wait.
        Assert.Equal(1, jitter.Draws);

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal(200, record.Status);
        Assert.Equal("vertex", record.Upstream);
        Assert.Equal(
            ["attempt 1 on upstream bedrock failed before the first byte: upstream_status_503", "attempt 2 on upstream bedrock failed before the first byte: upstream_status_429"],
            Attempts(log, record.RequestId));
    }

    [Fact]
    public async Task Vertex_exhausted_fails_over_to_a_messages_upstream_and_the_vertex_door_answers_from_it()
    {
        var log = new CapturingOutput(output);
        await using var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Vertex, configure: c => c with
        {
            Upstreams =
            [
                c.Upstreams[0] with { Retries = 1, RetryBackoff = TimeSpan.FromMilliseconds(10) },
                new UpstreamConfig { Name = "messages", Kind = UpstreamKind.Anthropic, Url = c.Upstreams[0].Url, ApiKeyEnv = GatewayHarness.UpstreamKeyVariable },
            ],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "main", Fallbacks = ["messages"] }],
        });
        harness.Upstream.Enqueue(
            UpstreamReply.Error(429, "rate_limit_error", "Quota exceeded."),
            UpstreamReply.Error(429, "rate_limit_error", "Quota exceeded."),
            UpstreamReply.Text("Messages upstream took over."));

        using var request = new HttpRequestMessage(HttpMethod.Post,
            $"/vertex/v1/projects/p/locations/{GatewayHarness.VertexRegion}/publishers/anthropic/models/{RequestBodies.Model}:rawPredict")
        {
            Content = new StringContent(
                "{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"hi " + RequestBodies.ContentMarker + "\"}]}",
                Encoding.UTF8, "application/json"),
        };
        GatewayHarness.AddClaudeCodeHeaders(request);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);

        var answer = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, answer);
        Assert.Contains("Messages upstream took over.", answer, StringComparison.Ordinal);
        Assert.Equal(2, harness.Upstream.VertexRequests.Count);
        Assert.Single(harness.Upstream.MessagesRequests);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("vertex", record.Door);
        Assert.Equal("messages", record.Upstream);
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal(2, Attempts(log, record.RequestId).Count);
    }

    [Fact]
    public async Task A_bedrock_stream_broken_after_its_first_event_is_not_retried_and_ends_in_the_doors_shape()
    {
        var jitter = new CountingRandom();
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex, retryJitter: jitter, configure: BedrockThenVertex(bedrockRetries: 3));
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.DieMidStream(2));
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.DieMidStream(2));

        // Messages door: an SSE error event after the events that were relayed.
        using var messages = harness.Messages(RequestBodies.Streaming());
        using var messagesResponse = await harness.SendStreamingAsync(messages);
        var events = await SseStreamReader.ReadAllAsync(await messagesResponse.Content.ReadAsStreamAsync());
        Assert.Equal(HttpStatusCode.OK, messagesResponse.StatusCode);
        Assert.Equal("message_start", events[0].Name);
        Assert.Equal("error", events[^1].Name);
        Assert.Contains("upstream 'bedrock' connection was lost mid-stream", ErrorAssert.IsErrorJson(events[^1].Data, "api_error"), StringComparison.Ordinal);

        // Bedrock door: an exception frame after the chunk frames that were relayed.
        using var door = BedrockDoorRequest(harness, "claude-opus-5-5");
        using var doorResponse = await harness.SendStreamingAsync(door);
        var frames = BedrockTests.Frames(await doorResponse.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, doorResponse.StatusCode);
        Assert.Equal("message_start", frames[0].Type);
        Assert.Equal("exception:internalServerException", frames[^1].Type);
        Assert.Contains("connection was lost mid-stream", frames[^1].Json, StringComparison.Ordinal);

        // Exactly one upstream call per request: no retry on Bedrock, no failover to Vertex, no backoff.
        Assert.Equal(2, harness.Upstream.Bedrock.Calls.Count);
        Assert.Empty(harness.Upstream.VertexRequests);
        Assert.Equal(0, jitter.Draws);
        var records = await harness.AuditAsync(2);
        Assert.Equal(["messages", "bedrock"], records.Select(r => r.Door));
        Assert.All(records, r =>
        {
            Assert.Equal("bedrock", r.Upstream);
            Assert.Equal(AuditOutcome.UpstreamError, r.Outcome);
            Assert.Equal("upstream_stream_broken", r.ErrorType);
        });
    }

    [Fact]
    public async Task A_bedrock_throttling_frame_after_the_first_event_is_relayed_not_retried()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex, configure: BedrockThenVertex(bedrockRetries: 3));
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.ErrorEventMidStream(2, "rate_limit_error", "Too many tokens, please wait before trying again."));

        using var door = BedrockDoorRequest(harness, "claude-opus-5-5");
        using var response = await harness.SendStreamingAsync(door);
        var frames = BedrockTests.Frames(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_start", frames[0].Type);
        Assert.Equal("exception:throttlingException", frames[^1].Type);
        Assert.Contains("Too many tokens", frames[^1].Json, StringComparison.Ordinal);
        Assert.Single(harness.Upstream.Bedrock.Calls);
        Assert.Empty(harness.Upstream.VertexRequests);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("bedrock", record.Upstream);
        Assert.Equal("upstream_stream_error:rate_limit_error", record.ErrorType);
    }

    [Fact]
    public async Task A_bedrock_stream_that_opens_with_a_throttling_frame_is_retried_before_the_first_client_byte()
    {
        var log = new CapturingOutput(output);
        var jitter = new CountingRandom();
        await using var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Bedrock, retryJitter: jitter, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { ModelMap = OpusToProfile, Retries = 1, RetryBackoff = TimeSpan.FromMilliseconds(10) }],
        });
        // HTTP 200, then a throttlingException exception frame as the stream's very first frame.
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.ErrorEventMidStream(0, "rate_limit_error", "Too many tokens, please wait before trying again."));
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.Text("Second attempt streams cleanly."));

        using var door = BedrockDoorRequest(harness, ProfileId);
        using var response = await harness.SendStreamingAsync(door);
        var frames = BedrockTests.Frames(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_start", frames[0].Type);
        Assert.Equal("message_stop", frames[^1].Type);
        Assert.DoesNotContain(frames, f => f.Type.StartsWith("exception:", StringComparison.Ordinal));
        Assert.Equal("Second attempt streams cleanly.", Text(frames.Select(f => (f.Type, f.Json))));
        Assert.Equal(2, harness.Upstream.Bedrock.Calls.Count);
        Assert.Equal(1, jitter.Draws);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal("main", record.Upstream);
        Assert.Equal(["attempt 1 on upstream main failed before the first byte: upstream_stream_error:rate_limit_error"], Attempts(log, record.RequestId));
    }

    [Fact]
    public async Task A_throttling_first_frame_on_the_last_attempt_is_an_http_429_in_each_doors_shape()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { ModelMap = OpusToProfile }],
        });
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.ErrorEventMidStream(0, "rate_limit_error", "Too many tokens, please wait before trying again."));
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.ErrorEventMidStream(0, "rate_limit_error", "Too many tokens, please wait before trying again."));

        // Nothing of an answer exists: the client gets the throttling as an error it can retry, not a broken 200 stream.
        using var door = BedrockDoorRequest(harness, ProfileId);
        using var doorResponse = await harness.Client.SendAsync(door);
        Assert.Equal(HttpStatusCode.TooManyRequests, doorResponse.StatusCode);
        Assert.Equal("ThrottlingException", doorResponse.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Contains("Too many tokens", await doorResponse.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var messages = harness.Messages(RequestBodies.Streaming());
        using var messagesResponse = await harness.Client.SendAsync(messages);
        var message = await ErrorAssert.IsAnthropicErrorAsync(messagesResponse, HttpStatusCode.TooManyRequests, "rate_limit_error");
        Assert.StartsWith("Too many tokens", message, StringComparison.Ordinal);

        Assert.Equal(2, harness.Upstream.Bedrock.Calls.Count);
        Assert.All(await harness.AuditAsync(2), r =>
        {
            Assert.Equal(429, r.Status);
            Assert.Equal(AuditOutcome.UpstreamError, r.Outcome);
            Assert.Equal("upstream_stream_error:rate_limit_error", r.ErrorType);
        });
    }

    [Fact]
    public async Task A_bedrock_stream_that_opens_with_a_validation_frame_is_relayed_not_retried()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex, configure: BedrockThenVertex(bedrockRetries: 2));
        // A request error another attempt would only repeat: the probe hands the frame on to the relay as it came.
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.ErrorEventMidStream(0, "invalid_request_error", "messages: roles must alternate"));

        using var door = BedrockDoorRequest(harness, "claude-opus-5-5");
        using var response = await harness.SendStreamingAsync(door);
        var frames = BedrockTests.Frames(await response.Content.ReadAsByteArrayAsync());

        var only = Assert.Single(frames);
        Assert.Equal("exception:validationException", only.Type);
        Assert.Contains("roles must alternate", only.Json, StringComparison.Ordinal);
        Assert.Single(harness.Upstream.Bedrock.Calls);
        Assert.Empty(harness.Upstream.VertexRequests);
        Assert.Equal("upstream_stream_error:invalid_request_error", (await harness.SingleAuditAsync()).ErrorType);
    }

    /// <summary>The text of an answer's <c>content_block_delta</c> events.</summary>
    private static string Text(IEnumerable<(string Type, string Json)> events) => string.Concat(events
        .Where(e => e.Type == "content_block_delta")
        .Select(e =>
        {
            using var document = JsonDocument.Parse(e.Json);
            return document.RootElement.GetProperty("delta").GetProperty("text").GetString();
        }));

    private static string Text(IEnumerable<SseEvent> events) => Text(events.Select(e => (e.Name, e.Data)));

    /// <summary>The gateway's "attempt N on upstream X failed before the first byte: …" lines of one request.</summary>
    private static List<string> Attempts(CapturingOutput log, string requestId) =>
        [.. log.Lines.Where(l => l.Contains(requestId + " attempt ", StringComparison.Ordinal)).Select(l => l[(l.IndexOf(" attempt ", StringComparison.Ordinal) + 1)..])];

    private static HttpRequestMessage BedrockDoorRequest(GatewayHarness harness, string model) => BedrockTests.DoorRequest(harness, model, stream: true,
        body: "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"hello " + RequestBodies.ContentMarker + "\"}]}");
}
