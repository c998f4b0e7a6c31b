using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Aws.EventStream;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// The Bedrock upstream (SigV4 verified by the scripted Bedrock) and the Bedrock front door (event-stream answers,
/// AWS-shaped errors, exception frames), each with the other upstream kinds, and the bad input of issue 4.
/// </summary>
public sealed class BedrockTests(ITestOutputHelper output)
{
    internal const string ProfileId = "us.anthropic.claude-opus-5-5-v1:0";
    private const string Arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";

    /// <summary>A body as Claude Code sends it in Bedrock mode (no model/stream; version and betas in the body).</summary>
    internal const string BedrockBody =
        "{\"anthropic_version\":\"bedrock-2023-05-31\",\"anthropic_beta\":[\"interleaved-thinking-2025-05-14\"],\"max_tokens\":1024," +
        "\"future_field\" : [1, {\"k\":2}],\"messages\":[{\"role\":\"user\",\"content\":\"hello " + RequestBodies.ContentMarker + "\"}]}";

    private static Func<AirlockConfig, AirlockConfig> MapOpusToProfile => c => c with
    {
        Upstreams = [c.Upstreams[0] with { ModelMap = [new ModelMapping { Match = "claude-opus-*", Model = ProfileId }] }],
    };

    internal static HttpRequestMessage DoorRequest(GatewayHarness harness, string model, bool stream, string body = BedrockBody)
    {
        // Claude Code's SDK keeps ':' and encodes '/' as %2F.
        var path = "/bedrock/model/" + model.Replace("/", "%2F", StringComparison.Ordinal) + (stream ? "/invoke-with-response-stream" : "/invoke");
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(harness.GatewayUri, path)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("User-Agent", "claude-cli/2.1.330 (external, sdk-cli)");
        // CLAUDE_CODE_SKIP_BEDROCK_AUTH=1 plus ANTHROPIC_AUTH_TOKEN: the gateway key as a bearer token.
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        return request;
    }

    /// <summary>Decodes an event-stream body: chunk frames to (event type, JSON), exception frames to ("exception:TYPE", message JSON).</summary>
    internal static List<(string Type, string Json)> Frames(byte[] body)
    {
        var frames = new List<(string, string)>();
        foreach (var message in EventStreamDecoder.DecodeAll(body))
        {
            if (message.GetString(":message-type") == "exception")
            {
                frames.Add(("exception:" + message.GetString(":exception-type"), Encoding.UTF8.GetString(message.Payload.Span)));
                continue;
            }
            Assert.Equal("chunk", message.GetString(":event-type"));
            var json = new ArrayBufferWriter<byte>();
            Assert.True(BedrockFrames.TryDecodeChunk(message.Payload.Span, json));
            using var document = JsonDocument.Parse(json.WrittenMemory);
            frames.Add((document.RootElement.GetProperty("type").GetString()!, Encoding.UTF8.GetString(json.WrittenSpan)));
        }
        return frames;
    }

    internal static async Task<(string ErrorType, string Message)> AwsErrorAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.Headers.GetValues("x-amzn-ErrorType").Single(), document.RootElement.GetProperty("message").GetString()!);
    }

    [Fact]
    public async Task Messages_door_to_bedrock_upstream_signs_splices_and_translates_the_stream()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: MapOpusToProfile);
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.Text("Hello from Bedrock.", inputTokens: 77, outputTokens: 5));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("message_start", events[0].Name);
        Assert.Equal("message_stop", events[^1].Name);
        Assert.Contains("Hello", string.Concat(events.Where(e => e.Name == "content_block_delta").Select(e => e.Data)), StringComparison.Ordinal);
        var call = Assert.Single(harness.Upstream.Bedrock.Calls);
        Assert.Equal(ProfileId, call.ModelId);
        Assert.True(call.Streaming);
        // The scripted Bedrock verified the signature (it rejects bad ones); ':' travels as %3A and is signed double-encoded.
        Assert.Equal("/model/us.anthropic.claude-opus-5-5-v1%3A0/invoke-with-response-stream", call.Request.Path);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", call.Request.Header("authorization"));
        // The shipped beta rules drop claude-code-* for Bedrock (Claude Code in Bedrock mode does not send it either).
        Assert.Equal(["interleaved-thinking-2025-05-14"], call.Betas);
        Assert.Null(call.Request.Header("x-api-key"));
        Assert.Null(call.Request.Header("x-claude-code-session-id"));
        Assert.Empty(harness.Upstream.Bedrock.Failures);

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal("messages", record.Door);
        Assert.Equal(RequestBodies.Model, record.Model);
        Assert.Equal(77, record.InputTokens);
        Assert.Equal(response.Headers.GetValues("x-amzn-RequestId").Single(), record.UpstreamRequestId);
    }

    [Fact]
    public async Task Messages_door_to_bedrock_invoke_relays_the_json_message()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: MapOpusToProfile);
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.Text("Not streamed.", inputTokens: 11, outputTokens: 3));

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("message", message.RootElement.GetProperty("type").GetString());
        Assert.False(Assert.Single(harness.Upstream.Bedrock.Calls).Streaming);
        Assert.Equal(11, (await harness.SingleAuditAsync()).InputTokens);
    }

    [Fact]
    public async Task Count_tokens_through_a_bedrock_upstream_is_a_signed_count_tokens_call_on_the_foundation_model()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: MapOpusToProfile);
        var body = Encoding.UTF8.GetBytes("{\"model\":\"claude-opus-5-5\",\"messages\":[{\"role\":\"user\",\"content\":\"count me\"}],\"tools\":[]}");

        using var request = GatewayHarness.Post("/v1/messages/count_tokens?beta=true", body, harness.DeveloperKey, "sess-ct");
        using var response = await harness.Client.SendAsync(request);
        var json = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = Assert.Single(harness.Upstream.Bedrock.Calls);
        Assert.True(call.CountTokens);
        // Profile id → foundation-model id (CountTokens refuses profile ids), signed like every Bedrock call.
        Assert.Equal("anthropic.claude-opus-5-5-v1:0", call.ModelId);
        Assert.EndsWith("/model/anthropic.claude-opus-5-5-v1%3A0/count-tokens", call.Request.Path, StringComparison.Ordinal);
        using var invoke = JsonDocument.Parse(call.InvokeBody!);
        Assert.Equal("bedrock-2023-05-31", invoke.RootElement.GetProperty("anthropic_version").GetString());
        Assert.False(invoke.RootElement.TryGetProperty("model", out _));
        Assert.Equal(1, invoke.RootElement.GetProperty("max_tokens").GetInt32());
        // The Messages answer, from Bedrock's {"inputTokens":N} (the scripted Bedrock counts a quarter of the body's bytes).
        using var answer = JsonDocument.Parse(json);
        Assert.Equal(call.InvokeBody!.Length / 4, answer.RootElement.GetProperty("input_tokens").GetInt32());
        var record = await harness.SingleAuditAsync();
        Assert.Equal("count_tokens", record.Operation);
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
    }

    [Fact]
    public async Task Count_tokens_for_an_arn_is_a_clear_refusal_on_the_messages_and_the_bedrock_door()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { ModelMap = [new ModelMapping { Match = "claude-opus-*", Model = Arn }] }],
        });
        var body = Encoding.UTF8.GetBytes("{\"model\":\"claude-opus-5-5\",\"messages\":[{\"role\":\"user\",\"content\":\"count me\"}]}");
        using var request = GatewayHarness.Post("/v1/messages/count_tokens", body, harness.DeveloperKey, "sess-ct");
        using var response = await harness.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not for an ARN", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var door = CountTokensRequest(harness, "claude-opus-5-5", "{\"input\":{\"invokeModel\":{\"body\":\"e30=\"}}}");
        using var doorResponse = await harness.Client.SendAsync(door);
        Assert.Equal(HttpStatusCode.BadRequest, doorResponse.StatusCode);
        var (errorType, message) = await AwsErrorAsync(doorResponse);
        Assert.Equal("ValidationException", errorType);
        Assert.Contains("not for an ARN", message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.Bedrock.Calls);
        var records = await harness.AuditAsync(2);
        Assert.All(records, r => Assert.Equal("unsupported_operation", r.ErrorType));
    }

    /// <summary>A CountTokens body as the AWS SDK sends it: the InvokeModel body, base64 in <c>input.invokeModel.body</c>.</summary>
    private static HttpRequestMessage CountTokensRequest(GatewayHarness harness, string model, string wrapped)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(harness.GatewayUri, "/bedrock/model/" + model + "/count-tokens"))
        {
            Content = new StringContent(wrapped, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        return request;
    }

    private static string Wrapped(string invokeBody) => Encoding.UTF8.GetString(BedrockCountTokens.WrapInvokeBody(Encoding.UTF8.GetBytes(invokeBody)));

    [Fact]
    public async Task Count_tokens_on_the_bedrock_door_is_counted_by_a_messages_upstream_and_answered_in_bedrock_shape()
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using var request = CountTokensRequest(harness, "claude-opus-5-5", Wrapped(BedrockBody));
        using var response = await harness.Client.SendAsync(request);
        var json = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(harness.Upstream.Requests);
        Assert.Equal("/v1/messages/count_tokens", received.Path);
        // A Messages count_tokens body: the model in the body, no InvokeModel-only fields (the API refuses max_tokens),
        // every other member's bytes kept; the betas travel in the header.
        using var forwarded = JsonDocument.Parse(received.GetBodyBytes());
        Assert.Equal("claude-opus-5-5", forwarded.RootElement.GetProperty("model").GetString());
        Assert.False(forwarded.RootElement.TryGetProperty("max_tokens", out _));
        Assert.False(forwarded.RootElement.TryGetProperty("anthropic_version", out _));
        Assert.False(forwarded.RootElement.TryGetProperty("anthropic_beta", out _));
        Assert.Equal("[1, {\"k\":2}]", forwarded.RootElement.GetProperty("future_field").GetRawText());
        Assert.Contains("interleaved-thinking-2025-05-14", received.Header("anthropic-beta") ?? "", StringComparison.Ordinal);
        // Bedrock's CountTokens answer, from the Messages {"input_tokens":N} (the scripted upstream answers ceil(bytes / 4)).
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var answer = JsonDocument.Parse(json);
        Assert.Equal((received.GetBodyBytes().Length + 3) / 4, answer.RootElement.GetProperty("inputTokens").GetInt32());
        Assert.False(answer.RootElement.TryGetProperty("input_tokens", out _));
        var record = await harness.SingleAuditAsync();
        Assert.Equal("bedrock", record.Door);
        Assert.Equal("count_tokens", record.Operation);
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal("claude-opus-5-5", record.Model);
    }

    [Fact]
    public async Task Count_tokens_on_the_bedrock_door_through_a_bedrock_upstream_is_a_signed_count_tokens_call()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: MapOpusToProfile);

        using var request = CountTokensRequest(harness, "claude-opus-5-5", Wrapped(BedrockBody));
        using var response = await harness.Client.SendAsync(request);
        var json = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = Assert.Single(harness.Upstream.Bedrock.Calls);
        Assert.True(call.CountTokens);
        Assert.Equal("anthropic.claude-opus-5-5-v1:0", call.ModelId);
        using var invoke = JsonDocument.Parse(call.InvokeBody!);
        Assert.Equal(1024, invoke.RootElement.GetProperty("max_tokens").GetInt32());
        using var answer = JsonDocument.Parse(json);
        Assert.Equal(call.InvokeBody!.Length / 4, answer.RootElement.GetProperty("inputTokens").GetInt32());
        Assert.Equal("count_tokens", (await harness.SingleAuditAsync()).Operation);
    }

    [Theory]
    [InlineData("{\"input\":{}}")]
    [InlineData("{\"input\":{\"invokeModel\":{\"body\":\"not base64!\"}}}")]
    [InlineData("{\"input\":{\"invokeModel\":{\"body\":\"bm90IGpzb24=\"}}}")]
    [InlineData("not json")]
    public async Task A_malformed_count_tokens_request_is_a_validation_exception_and_reaches_no_upstream(string wrapped)
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using var request = CountTokensRequest(harness, "claude-opus-5-5", wrapped);
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var (errorType, message) = await AwsErrorAsync(response);
        Assert.Equal("ValidationException", errorType);
        Assert.False(string.IsNullOrEmpty(message));
        Assert.Empty(harness.Upstream.Requests);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("count_tokens", record.Operation);
        Assert.Equal("invalid_body", record.ErrorType);
    }

    [Fact]
    public async Task Bedrock_door_to_bedrock_upstream_keeps_the_body_and_answers_in_event_stream_frames()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock);
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.ToolUse("Read", new { file_path = "/repo/.env" }));

        using var request = DoorRequest(harness, Arn, stream: true);
        using var response = await harness.SendStreamingAsync(request);
        var frames = Frames(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(BedrockFrames.ContentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("application/json", response.Headers.GetValues(BedrockFrames.PayloadContentTypeHeader).Single());
        Assert.Equal("message_start", frames[0].Type);
        Assert.Equal("message_stop", frames[^1].Type);
        Assert.Contains(frames, f => f.Type == "content_block_start" && f.Json.Contains("\"tool_use\"", StringComparison.Ordinal));
        var call = Assert.Single(harness.Upstream.Bedrock.Calls);
        Assert.Equal(Arn, call.ModelId);
        Assert.Equal("/model/" + Uri.EscapeDataString(Arn) + "/invoke-with-response-stream", call.Request.Path);
        Assert.Equal(BedrockBody, call.Request.BodyText);

        var record = await harness.SingleAuditAsync();
        Assert.Equal("bedrock", record.Door);
        Assert.Equal("invoke_with_response_stream", record.Operation);
        Assert.Equal(Arn, record.Model);
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal(GatewayHarness.DeveloperUser, record.User);
    }

    [Fact]
    public async Task Bedrock_door_to_messages_upstream_moves_model_stream_and_betas()
    {
        await using var harness = await GatewayHarness.StartAsync(output, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { ModelMap = [new ModelMapping { Match = "*anthropic.claude-opus-5-5*", Model = "claude-opus-5-5" }] }],
        });
        harness.Upstream.Enqueue(UpstreamReply.Text("From the on-prem server."), UpstreamReply.Text("And not streamed."));

        using var request = DoorRequest(harness, ProfileId, stream: true);
        using var response = await harness.SendStreamingAsync(request);
        var frames = Frames(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal("message_stop", frames[^1].Type);
        var received = harness.Upstream.MessagesRequests[0];
        Assert.Equal("claude-opus-5-5", received.Model);
        Assert.True(received.IsStreaming);
        Assert.Equal("interleaved-thinking-2025-05-14", received.Header("anthropic-beta"));
        Assert.Equal("2023-06-01", received.Header("anthropic-version"));
        Assert.Equal(harness.Upstream.ApiKey, received.Header("x-api-key"));
        using (var body = received.ParseBody())
        {
            Assert.False(body.RootElement.TryGetProperty("anthropic_version", out _));
            Assert.False(body.RootElement.TryGetProperty("anthropic_beta", out _));
            Assert.Equal("[1, {\"k\":2}]", body.RootElement.GetProperty("future_field").GetRawText());
        }

        using var invoke = DoorRequest(harness, ProfileId, stream: false);
        using var invokeResponse = await harness.Client.SendAsync(invoke);
        Assert.Equal(HttpStatusCode.OK, invokeResponse.StatusCode);
        Assert.Equal("message", JsonDocument.Parse(await invokeResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("type").GetString());
        Assert.False(harness.Upstream.MessagesRequests[1].IsStreaming);
        Assert.All(await harness.AuditAsync(2), r => Assert.Equal("bedrock", r.Door));
    }

    [Fact]
    public async Task Wrong_aws_secret_is_rejected_by_bedrock_and_reported_in_each_door_shape()
    {
        // AWS answers a signature mismatch by quoting the canonical request it computed, signed headers and their values
        // included: with temporary credentials, the session token. The scripted Bedrock does the same.
        const string SessionToken = "IQoJb3JpZ2luX2VjEXAMPLE-session-token-of-the-gateway";
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: MapOpusToProfile,
            environment: name => name switch
            {
                "AWS_SECRET_ACCESS_KEY" => "not-the-right-secret",
                "AWS_SESSION_TOKEN" => SessionToken,
                _ => null,
            });

        using var messages = harness.Messages(RequestBodies.Streaming());
        using var messagesResponse = await harness.Client.SendAsync(messages);
        Assert.Equal(HttpStatusCode.Forbidden, messagesResponse.StatusCode);
        var body = await messagesResponse.Content.ReadAsStringAsync();
        Assert.Contains("signature", ErrorAssert.IsErrorJson(body, "authentication_error"), StringComparison.OrdinalIgnoreCase);

        using var door = DoorRequest(harness, ProfileId, stream: true);
        using var doorResponse = await harness.Client.SendAsync(door);
        Assert.Equal(HttpStatusCode.Forbidden, doorResponse.StatusCode);
        var (doorType, doorMessage) = await AwsErrorAsync(doorResponse);
        Assert.Equal("AccessDeniedException", doorType);
        Assert.Contains("signature", doorMessage, StringComparison.OrdinalIgnoreCase);
        foreach (var text in new[] { body, doorMessage })
        {
            Assert.DoesNotContain("not-the-right-secret", text, StringComparison.Ordinal);
            Assert.DoesNotContain(SessionToken, text, StringComparison.Ordinal);
            Assert.DoesNotContain("Canonical String", text, StringComparison.Ordinal);
        }
        // The upstream really did quote it: what the gateway relays is cut, not what Bedrock said.
        Assert.Contains(harness.Upstream.Bedrock.Rejections, r => r.Contains(SessionToken, StringComparison.Ordinal));

        Assert.All(harness.Upstream.Bedrock.Calls, c => Assert.Null(c.ModelId));
        Assert.All(await harness.AuditAsync(2), r => Assert.Equal("upstream_status_403", r.ErrorType));
    }

    [Fact]
    public async Task Missing_aws_credentials_are_a_502_with_an_audit_record()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: MapOpusToProfile,
            environment: name => name switch
            {
                "AWS_ACCESS_KEY_ID" or "AWS_SECRET_ACCESS_KEY" => "",
                "AWS_PROFILE" => "airlock-test-profile-that-does-not-exist",
                _ => null,
            });

        using var door = DoorRequest(harness, ProfileId, stream: true);
        using var response = await harness.Client.SendAsync(door);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var (errorType, message) = await AwsErrorAsync(response);
        Assert.Equal("InternalServerException", errorType);
        Assert.Contains("credentials", message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.Bedrock.Calls);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("upstream_credentials", record.ErrorType);
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
    }

    [Fact]
    public async Task Throttling_reaches_each_door_in_its_own_shape()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: MapOpusToProfile);
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.Error(429, "rate_limit_error", "Too many requests, please wait before trying again."));
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.Error(429, "rate_limit_error", "Too many requests again."));

        using var messages = harness.Messages(RequestBodies.Streaming());
        using var messagesResponse = await harness.Client.SendAsync(messages);
        var message = await ErrorAssert.IsAnthropicErrorAsync(messagesResponse, HttpStatusCode.TooManyRequests, "rate_limit_error");
        Assert.StartsWith("Too many requests", message, StringComparison.Ordinal);

        using var door = DoorRequest(harness, ProfileId, stream: true);
        using var doorResponse = await harness.Client.SendAsync(door);
        Assert.Equal(HttpStatusCode.TooManyRequests, doorResponse.StatusCode);
        Assert.Equal("ThrottlingException", (await AwsErrorAsync(doorResponse)).ErrorType);
        Assert.All(await harness.AuditAsync(2), r => Assert.Equal("upstream_status_429", r.ErrorType));
    }

    [Fact]
    public async Task An_exception_frame_mid_stream_becomes_an_sse_error_or_stays_an_exception_frame()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: MapOpusToProfile);
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.ErrorEventMidStream(3, "overloaded_error", "Bedrock is busy"));
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.ErrorEventMidStream(3, "overloaded_error", "Bedrock is busy"));

        using var messages = harness.Messages(RequestBodies.Streaming());
        using var messagesResponse = await harness.SendStreamingAsync(messages);
        var events = await SseStreamReader.ReadAllAsync(await messagesResponse.Content.ReadAsStreamAsync());
        Assert.Equal("error", events[^1].Name);
        Assert.Equal("Bedrock is busy", ErrorAssert.IsErrorJson(events[^1].Data, "overloaded_error"));

        using var door = DoorRequest(harness, ProfileId, stream: true);
        using var doorResponse = await harness.SendStreamingAsync(door);
        var frames = Frames(await doorResponse.Content.ReadAsByteArrayAsync());
        Assert.Equal("exception:serviceUnavailableException", frames[^1].Type);
        Assert.Contains("Bedrock is busy", frames[^1].Json, StringComparison.Ordinal);

        Assert.All(await harness.AuditAsync(2), r => Assert.Equal("upstream_stream_error:overloaded_error", r.ErrorType));
    }

    [Fact]
    public async Task A_stream_that_ends_without_message_stop_ends_with_an_exception_frame()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.Enqueue(UpstreamReply.DieMidStream(4));

        using var door = DoorRequest(harness, "claude-opus-5-5", stream: true);
        using var response = await harness.SendStreamingAsync(door);
        var frames = Frames(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal("message_start", frames[0].Type);
        Assert.Equal("exception:internalServerException", frames[^1].Type);
        Assert.Contains("incomplete", frames[^1].Json, StringComparison.Ordinal);
        Assert.Equal("upstream_stream_broken", (await harness.SingleAuditAsync()).ErrorType);
    }

    [Fact]
    public async Task A_corrupt_event_stream_frame_is_a_precise_stream_error()
    {
        await using var probe = await ProbeUpstream.StartAsync(async context =>
        {
            var writer = new BedrockStreamWriter(context.Response);
            await writer.StartAsync(context.RequestAborted);
            await writer.WriteEventAsync("{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}", context.RequestAborted);
            var frame = new ArrayBufferWriter<byte>();
            BedrockFrames.WriteChunk(frame, "{\"type\":\"ping\"}"u8);
            var corrupt = frame.WrittenSpan.ToArray();
            corrupt[^1] ^= 0xFF;
            await writer.WriteRawAsync(corrupt, context.RequestAborted);
        });
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { Url = probe.BaseUri }],
        });

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal("message_start", events[0].Name);
        Assert.Equal("error", events[^1].Name);
        Assert.Contains("corrupt event-stream frame", ErrorAssert.IsErrorJson(events[^1].Data, "api_error"), StringComparison.Ordinal);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("upstream_stream_corrupt", record.ErrorType);
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
    }

    [Theory]
    [InlineData("/bedrock/model/%2e%2e/invoke")]
    [InlineData("/bedrock/model/..%2F..%2Fv1%2Fmessages/invoke")]
    [InlineData("/bedrock/model/anthropic.claude%252Dopus/invoke")]
    [InlineData("/bedrock/model/anthropic.claude-opus/converse")]
    public async Task Path_tricks_get_a_validation_exception_and_an_audit_record(string target)
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock);

        var response = await RawHttp.PostAsync(harness.GatewayUri, target,
            [new("Authorization", "Bearer " + harness.DeveloperKey)], Encoding.UTF8.GetBytes(BedrockBody));

        Assert.Equal(400, response.Status);
        Assert.Equal("ValidationException", response.Headers["x-amzn-errortype"]);
        using var body = JsonDocument.Parse(response.Body);
        Assert.StartsWith("invalid model path", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.Bedrock.Calls);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("invalid_path", record.ErrorType);
        Assert.Equal("bedrock", record.Door);
    }

    [Fact]
    public async Task Unknown_model_and_missing_key_are_aws_shaped()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Routes = [new RouteConfig { Models = ["us.anthropic.*"], Upstream = "main" }],
        });

        using var unknown = DoorRequest(harness, "mistral.large-2407-v1:0", stream: true);
        using var unknownResponse = await harness.Client.SendAsync(unknown);
        Assert.Equal(HttpStatusCode.NotFound, unknownResponse.StatusCode);
        Assert.Equal("ResourceNotFoundException", (await AwsErrorAsync(unknownResponse)).ErrorType);

        using var anonymous = DoorRequest(harness, ProfileId, stream: true);
        anonymous.Headers.Remove("Authorization");
        using var anonymousResponse = await harness.Client.SendAsync(anonymous);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousResponse.StatusCode);
        Assert.Equal("UnrecognizedClientException", (await AwsErrorAsync(anonymousResponse)).ErrorType);

        Assert.Equal(["no_route", "auth_missing"], (await harness.AuditAsync(2)).Select(r => r.ErrorType));
    }

    [Fact]
    public async Task Inference_profile_discovery_is_answered_from_the_routes()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Routes = [new RouteConfig { Models = [ProfileId, "claude-*"], Upstream = "main" }],
        });

        using var list = new HttpRequestMessage(HttpMethod.Get, "/bedrock/inference-profiles?type=SYSTEM_DEFINED");
        list.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        using var listResponse = await harness.Client.SendAsync(list);
        Assert.Equal(HttpStatusCode.OK, listResponse.StatusCode);
        using var listed = JsonDocument.Parse(await listResponse.Content.ReadAsStringAsync());
        var profile = Assert.Single(listed.RootElement.GetProperty("inferenceProfileSummaries").EnumerateArray());
        Assert.Equal(ProfileId, profile.GetProperty("inferenceProfileId").GetString());
        Assert.EndsWith("foundation-model/anthropic.claude-opus-5-5-v1:0", profile.GetProperty("models")[0].GetProperty("modelArn").GetString());

        using var get = new HttpRequestMessage(HttpMethod.Get, "/bedrock/inference-profiles/" + ProfileId);
        get.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        using var getResponse = await harness.Client.SendAsync(get);
        Assert.Equal(HttpStatusCode.OK, getResponse.StatusCode);

        using var missing = new HttpRequestMessage(HttpMethod.Get, "/bedrock/inference-profiles/eu.meta.llama3-v1:0");
        missing.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        using var missingResponse = await harness.Client.SendAsync(missing);
        Assert.Equal(HttpStatusCode.NotFound, missingResponse.StatusCode);

        var records = await harness.AuditAsync(3);
        Assert.Equal(["list_inference_profiles", "get_inference_profile", "get_inference_profile"], records.Select(r => r.Operation));
        Assert.All(records, r => Assert.Equal("bedrock", r.Door));
    }

    [Fact]
    public async Task Beta_flags_bedrock_does_not_know_are_dropped_together_with_their_body_fields()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: MapOpusToProfile,
            upstreamOptions: new ScriptedUpstreamOptions { BedrockAcceptedBetas = new HashSet<string> { "interleaved-thinking-2025-05-14" } });
        var body = "{\"model\":\"claude-opus-5-5\",\"max_tokens\":64,\"stream\":true,\"context_management\":{\"edits\":[]}," +
            "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        using var request = harness.Messages(body);
        request.Headers.Remove("anthropic-beta");
        request.Headers.TryAddWithoutValidation("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27");

        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_stop", events[^1].Name);
        var call = Assert.Single(harness.Upstream.Bedrock.Calls);
        Assert.Equal(["interleaved-thinking-2025-05-14"], call.Betas);
        using var sent = call.Request.ParseBody();
        Assert.False(sent.RootElement.TryGetProperty("context_management", out _));
    }

    [Fact]
    public async Task A_refused_beta_is_not_retried_on_the_same_upstream()
    {
        // Another attempt on the same upstream would be refused the same way: only backoff and noise.
        var log = new CapturingOutput(output);
        await using var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with
            {
                ModelMap = [new ModelMapping { Match = "claude-opus-*", Model = ProfileId }],
                Retries = 3,
                RetryBackoff = TimeSpan.FromMilliseconds(5),
            }],
            Betas = [new BetaRuleConfig { Kind = UpstreamKind.Bedrock, Beta = "interleaved-thinking-*", Action = "refuse" }],
        });

        using var door = DoorRequest(harness, ProfileId, stream: true);
        using var response = await harness.Client.SendAsync(door);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("beta_refused:interleaved-thinking-2025-05-14", record.ErrorType);
        var attempts = log.Lines.Where(l => l.Contains(record.RequestId + " attempt ", StringComparison.Ordinal)).ToList();
        Assert.Single(attempts);
        Assert.Contains("attempt 1 ", attempts[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_beta_refused_by_configuration_fails_with_an_error_naming_it()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => MapOpusToProfile(c) with
        {
            Betas = [new BetaRuleConfig { Kind = UpstreamKind.Bedrock, Beta = "interleaved-thinking-*", Action = "refuse" }],
        });

        using var door = DoorRequest(harness, ProfileId, stream: true);
        using var response = await harness.Client.SendAsync(door);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var (errorType, message) = await AwsErrorAsync(response);
        Assert.Equal("ValidationException", errorType);
        Assert.Contains("beta 'interleaved-thinking-2025-05-14'", message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.Bedrock.Calls);
        Assert.Equal("beta_refused:interleaved-thinking-2025-05-14", (await harness.SingleAuditAsync()).ErrorType);
    }

    [Fact]
    public async Task A_configured_pass_rule_overrides_the_shipped_drop_and_keeps_the_paired_field()
    {
        // Shipped (beta-rules.json): bedrock drops claude-code-*, context-management-* (with context_management) and
        // effort-* (with output_config). The configuration passes the first two; the third stays under the shipped rule.
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Betas =
            [
                new BetaRuleConfig { Kind = UpstreamKind.Bedrock, Beta = "claude-code-*", Action = "pass" },
                new BetaRuleConfig { Kind = UpstreamKind.Bedrock, Beta = "context-management-*", Action = "pass" },
            ],
        });
        var body = "{\"anthropic_version\":\"bedrock-2023-05-31\",\"anthropic_beta\":[\"claude-code-20250219\",\"context-management-2025-06-27\"," +
            "\"effort-2025-11-24\",\"interleaved-thinking-2025-05-14\"],\"max_tokens\":64,\"context_management\":{\"edits\":[]}," +
            "\"output_config\":{\"effort\":\"low\"},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

        using var request = DoorRequest(harness, ProfileId, stream: true, body);
        using var response = await harness.SendStreamingAsync(request);
        var frames = Frames(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_stop", frames[^1].Type);
        var call = Assert.Single(harness.Upstream.Bedrock.Calls);
        Assert.Equal(["claude-code-20250219", "context-management-2025-06-27", "interleaved-thinking-2025-05-14"], call.Betas);
        using var sent = call.Request.ParseBody();
        Assert.Equal("{\"edits\":[]}", sent.RootElement.GetProperty("context_management").GetRawText());
        Assert.False(sent.RootElement.TryGetProperty("output_config", out _));
        Assert.Equal(AuditOutcome.Ok, (await harness.SingleAuditAsync()).Outcome);
    }

    [Fact]
    public async Task A_configured_refuse_rule_overrides_the_shipped_drop()
    {
        // Shipped: claude-code-* is dropped for bedrock (beta-rules.json has no pass rules; a flag no rule matches passes,
        // and the configured refuse of a passing flag is A_beta_refused_by_configuration_fails_with_an_error_naming_it).
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Betas = [new BetaRuleConfig { Kind = UpstreamKind.Bedrock, Beta = "claude-code-*", Action = "refuse" }],
        });
        var body = BedrockBody.Replace("[\"interleaved-thinking-2025-05-14\"]", "[\"interleaved-thinking-2025-05-14\",\"claude-code-20250219\"]", StringComparison.Ordinal);

        using var request = DoorRequest(harness, ProfileId, stream: true, body);
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var (errorType, message) = await AwsErrorAsync(response);
        Assert.Equal("ValidationException", errorType);
        Assert.StartsWith("beta 'claude-code-20250219' cannot be served by upstream 'main' (bedrock)", message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.Bedrock.Calls);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("beta_refused:claude-code-20250219", record.ErrorType);
        Assert.Equal(AuditOutcome.Rejected, record.Outcome);
    }

    private const string BedrockApiKey = "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9FWEFNUExF";

    /// <summary>
    /// A Bedrock upstream configured with a Bedrock API key (<c>api_key_env</c>, e.g. <c>AWS_BEARER_TOKEN_BEDROCK</c>) in
    /// front of a scripted Bedrock that accepts only that key (it knows no SigV4 credentials, so a signed call would fail).
    /// </summary>
    private static async Task<(GatewayHarness Harness, ScriptedBedrock Bedrock)> StartWithApiKeyAsync(string presentedKey, ITestOutputHelper log)
    {
        var bedrock = await ScriptedBedrock.StartAsync(new ScriptedBedrock(new BedrockSigV4Verifier(ScriptedUpstream.BedrockRegion) { BearerToken = BedrockApiKey }));
        var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Bedrock, upstreamCredential: presentedKey, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { Url = new Uri(bedrock.BaseUrl), ApiKeyEnv = GatewayHarness.UpstreamKeyVariable }],
        });
        return (harness, bedrock);
    }

    [Fact]
    public async Task A_bedrock_api_key_upstream_sends_the_key_as_a_bearer_token_and_no_signature()
    {
        var (harness, bedrock) = await StartWithApiKeyAsync(BedrockApiKey, output);
        await using var _ = bedrock;
        await using var __ = harness;

        using var door = DoorRequest(harness, ProfileId, stream: true);
        using var doorResponse = await harness.SendStreamingAsync(door);
        var frames = Frames(await doorResponse.Content.ReadAsByteArrayAsync());
        using var messages = harness.Messages(RequestBodies.NonStreaming(ProfileId));
        using var messagesResponse = await harness.Client.SendAsync(messages);

        Assert.Equal(HttpStatusCode.OK, doorResponse.StatusCode);
        Assert.Equal("message_stop", frames[^1].Type);
        Assert.Equal(HttpStatusCode.OK, messagesResponse.StatusCode);
        Assert.Equal(2, bedrock.Calls.Count);
        Assert.All(bedrock.Calls, call =>
        {
            Assert.Equal(ProfileId, call.ModelId);
            Assert.Equal("Bearer " + BedrockApiKey, call.Request.Header("authorization"));
            Assert.Null(call.Request.Header("x-amz-date"));
            Assert.Null(call.Request.Header("x-amz-content-sha256"));
            Assert.Null(call.Request.Header("x-amz-security-token"));
        });
        Assert.Empty(bedrock.Failures);
        Assert.Empty(bedrock.Rejections);
        Assert.All(await harness.AuditAsync(2), r => Assert.Equal(AuditOutcome.Ok, r.Outcome));
    }

    [Fact]
    public async Task A_wrong_bedrock_api_key_is_bedrocks_403_in_the_door_shape_without_the_key()
    {
        const string WrongKey = "bedrock-api-key-V1JPTkdXUk9OR1dST05HLkVYQU1QTEVLRVk=";
        var log = new CapturingOutput(output);
        var (harness, bedrock) = await StartWithApiKeyAsync(WrongKey, log);
        await using var _ = bedrock;
        await using var __ = harness;

        using var door = DoorRequest(harness, ProfileId, stream: true);
        using var doorResponse = await harness.Client.SendAsync(door);
        var doorBody = await doorResponse.Content.ReadAsStringAsync();
        using var messages = harness.Messages(RequestBodies.Streaming(ProfileId));
        using var messagesResponse = await harness.Client.SendAsync(messages);
        var messagesBody = await messagesResponse.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Forbidden, doorResponse.StatusCode);
        Assert.Equal("AccessDeniedException", doorResponse.Headers.GetValues("x-amzn-ErrorType").Single());
        using (var error = JsonDocument.Parse(doorBody))
        {
            Assert.Equal("Bedrock refused the gateway's Bedrock API key for upstream 'main' (UnrecognizedClientException): Invalid API Key format: Must be a valid Bedrock API key",
                error.RootElement.GetProperty("message").GetString());
        }
        Assert.Equal(HttpStatusCode.Forbidden, messagesResponse.StatusCode);
        ErrorAssert.IsErrorJson(messagesBody, "authentication_error");
        // Bedrock saw the wrong key and refused both calls before reading the model path.
        Assert.Equal(2, bedrock.Calls.Count);
        Assert.All(bedrock.Calls, c => Assert.Null(c.ModelId));
        Assert.Equal(2, bedrock.Rejections.Count);
        Assert.All(bedrock.Rejections, r => Assert.StartsWith("UnrecognizedClientException: ", r, StringComparison.Ordinal));
        var records = await harness.AuditAsync(2);
        Assert.All(records, r => Assert.Equal("upstream_status_403", r.ErrorType));
        Assert.Equal(["bedrock", "messages"], records.Select(r => r.Door));
        foreach (var text in new[] { doorBody, messagesBody, string.Join('\n', log.Lines), JsonSerializer.Serialize(records) })
        {
            Assert.DoesNotContain(WrongKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain(BedrockApiKey, text, StringComparison.Ordinal);
        }
    }
}
