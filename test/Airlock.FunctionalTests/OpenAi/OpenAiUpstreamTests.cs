using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Protocols.Aws.EventStream;

namespace Airlock.FunctionalTests.OpenAi;

/// <summary>
/// The gateway in front of a scripted OpenAI chat-completions server (<c>kind: openai</c>): requests translated and
/// checked the way such a server checks them, answers translated back into Messages SSE / JSON, errors into
/// Anthropic-shaped errors, and one audit record per request.
/// </summary>
public sealed class OpenAiUpstreamTests(ITestOutputHelper output)
{
    private const string KeyVariable = "AIRLOCK_TEST_OPENAI_KEY";
    private const string LocalModel = "qwen3-coder-30b";

    /// <summary>A gateway whose only upstream is <paramref name="openAi"/>, with Claude model names mapped to the local model.</summary>
    private Task<GatewayHarness> StartAsync(ScriptedOpenAi openAi) =>
        GatewayHarness.StartAsync(output,
            configure: c => c with
            {
                Level = 3,
                Upstreams =
                [
                    new UpstreamConfig
                    {
                        Name = "local",
                        Kind = UpstreamKind.OpenAi,
                        Url = openAi.BaseUri,
                        ApiKeyEnv = KeyVariable,
                        ModelMap = [new ModelMapping { Match = "claude-*", Model = LocalModel }],
                        MaxOutputTokens = 16384,
                    },
                ],
                Routes = [new RouteConfig { Models = ["*"], Upstream = "local" }],
            },
            environment: name => name == KeyVariable ? ScriptedOpenAi.DefaultApiKey : null);

    private static string DeltaText(IEnumerable<SseEvent> events) =>
        string.Concat(events.Where(e => e.Name == "content_block_delta").Select(e =>
        {
            using var document = JsonDocument.Parse(e.Data);
            var delta = document.RootElement.GetProperty("delta");
            return delta.TryGetProperty("text", out var text) ? text.GetString() : delta.TryGetProperty("partial_json", out var json) ? json.GetString() : "";
        }));

    [Fact]
    public async Task Streamed_turn_is_translated_both_ways_with_the_bearer_key_and_the_mapped_model()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        openAi.Enqueue(UpstreamReply.Text("Hello from a local model.", inputTokens: 321, outputTokens: 9));

        using var request = harness.Messages(RequestBodies.Streaming(), sessionId: "session-openai-1");
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["message_start", "content_block_start"], events.Take(2).Select(e => e.Name));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], events.TakeLast(3).Select(e => e.Name));
        Assert.Equal("Hello from a local model.", DeltaText(events));
        Assert.Contains("\"stop_reason\":\"end_turn\"", events[^2].Data, StringComparison.Ordinal);

        var call = Assert.Single(openAi.Calls);
        Assert.Empty(openAi.Failures);
        Assert.Equal(ScriptedOpenAi.ChatCompletionsPath, call.Request.Path);
        Assert.Equal("Bearer " + ScriptedOpenAi.DefaultApiKey, call.Request.Header("authorization"));
        Assert.Equal(LocalModel, call.Model);
        Assert.True(call.Streaming);
        // Claude Code asked for 128,000 output tokens; the upstream's cap is what the server gets.
        Assert.Equal(16384, call.Body!.Value.GetProperty("max_tokens").GetInt32());
        // Nothing of the client's hop reaches the server: not its key, not Anthropic headers, not the session id.
        Assert.Null(call.Request.Header("x-api-key"));
        Assert.Null(call.Request.Header("anthropic-version"));
        Assert.Null(call.Request.Header("anthropic-beta"));
        Assert.Null(call.Request.Header("x-claude-code-session-id"));
        Assert.Equal(["system", "user"], call.Messages.Select(m => m.GetProperty("role").GetString()));

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal("local", record.Upstream);
        Assert.Equal(RequestBodies.Model, record.Model);
        Assert.Equal(321, record.InputTokens);
        Assert.Equal(9, record.OutputTokens);
        Assert.Equal(response.Headers.GetValues("x-airlock-request-id").Single(), record.RequestId);
        await harness.AssertNotStoredAsync(RequestBodies.ContentMarker);
    }

    [Fact]
    public async Task Non_streamed_turn_answers_a_messages_json_message()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        openAi.Enqueue(UpstreamReply.Text("Not streamed.", inputTokens: 11, outputTokens: 3));

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("message", message.RootElement.GetProperty("type").GetString());
        Assert.Equal("Not streamed.", message.RootElement.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("end_turn", message.RootElement.GetProperty("stop_reason").GetString());
        Assert.False(Assert.Single(openAi.Calls).Streaming);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(11, record.InputTokens);
        Assert.Equal(3, record.OutputTokens);
    }

    [Fact]
    public async Task Streamed_tool_call_becomes_a_tool_use_block_with_the_arguments_as_json_deltas()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        openAi.Enqueue(UpstreamReply.ToolUse("Read", new { file_path = "/repo/src/Program.cs" }) with { ToolUseId = "call_abc123" });

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        var start = Assert.Single(events, e => e.Name == "content_block_start");
        Assert.Equal("""{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"call_abc123","name":"Read","input":{}}}""", start.Data);
        Assert.Equal("""{"file_path":"/repo/src/Program.cs"}""", DeltaText(events));
        Assert.True(events.Count(e => e.Name == "content_block_delta") > 1, "arguments arrive in fragments");
        Assert.Contains("\"stop_reason\":\"tool_use\"", Assert.Single(events, e => e.Name == "message_delta").Data, StringComparison.Ordinal);
        Assert.Equal(AuditOutcome.Ok, (await harness.SingleAuditAsync()).Outcome);
    }

    [Fact]
    public async Task Parallel_tool_calls_and_reasoning_arrive_as_sequential_blocks()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        openAi.Enqueue(ScriptedOpenAiReplies.ParallelToolCalls(("call_1", "Glob", new { pattern = "**/*.cs" }), ("call_2", "Grep", new { pattern = "TODO" })));
        openAi.Enqueue(ScriptedOpenAiReplies.ReasoningThenText("Think about it first.", "Done thinking."));

        using (var request = harness.Messages(RequestBodies.Streaming()))
        using (var response = await harness.SendStreamingAsync(request))
        {
            var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());
            var starts = events.Where(e => e.Name == "content_block_start").Select(e => e.Data).ToList();
            Assert.Equal(2, starts.Count);
            Assert.Contains("\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"Glob\"", starts[0], StringComparison.Ordinal);
            Assert.Contains("\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"call_2\",\"name\":\"Grep\"", starts[1], StringComparison.Ordinal);
            var order = events.Where(e => e.Name.StartsWith("content_block", StringComparison.Ordinal)).Select(e => e.Name).ToList();
            // Block 0 stops before block 1 starts.
            Assert.True(order.IndexOf("content_block_stop") < order.LastIndexOf("content_block_start"));
            Assert.Equal("{\"pattern\":\"**/*.cs\"}{\"pattern\":\"TODO\"}", DeltaText(events));
        }

        using (var request = harness.Messages(RequestBodies.Streaming()))
        using (var response = await harness.SendStreamingAsync(request))
        {
            var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());
            var starts = events.Where(e => e.Name == "content_block_start").Select(e => e.Data).ToList();
            Assert.Contains("\"type\":\"thinking\"", starts[0], StringComparison.Ordinal);
            Assert.Contains("\"type\":\"text\"", starts[1], StringComparison.Ordinal);
            var thinking = string.Concat(events.Where(e => e.Data.Contains("thinking_delta", StringComparison.Ordinal))
                .Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("delta").GetProperty("thinking").GetString()));
            Assert.Equal("Think about it first.", thinking);
            Assert.Equal("Done thinking.", DeltaText(events));
        }
        var records = await harness.AuditAsync(2);
        Assert.All(records, r => Assert.Equal(AuditOutcome.Ok, r.Outcome));
    }

    [Theory]
    [InlineData("claude-code-request.json")]
    [InlineData("claude-code-toolresult-request.json")]
    public async Task Recorded_claude_code_requests_pass_the_servers_checks(string file)
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        var body = await File.ReadAllBytesAsync(Path.Combine(RepositoryRoot.Require(), "bench", "data", file));

        using var request = harness.Messages(body);
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_stop", events[^1].Name);
        var call = Assert.Single(openAi.Calls);
        Assert.Empty(openAi.Failures);
        Assert.Equal(12, call.Body!.Value.GetProperty("tools").GetArrayLength());
        if (file.Contains("toolresult", StringComparison.Ordinal))
        {
            var (id, content) = Assert.Single(call.TrailingToolMessages());
            Assert.StartsWith("toolu_", id, StringComparison.Ordinal);
            Assert.Contains("marker-", content, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_request_that_cannot_be_expressed_is_refused_naming_the_field_and_never_sent()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        const string body = """
            {"model":"claude-opus-5-5","max_tokens":64,"messages":[{"role":"user","content":[
              {"type":"text","text":"summarize"},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]}
            """;

        using var request = harness.Messages(body);
        using var response = await harness.Client.SendAsync(request);

        Assert.Contains("messages[0].content[1].type", await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error"), StringComparison.Ordinal);
        Assert.Empty(openAi.Calls);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Rejected, record.Outcome);
        Assert.Equal("untranslatable_request", record.ErrorType);
    }

    [Theory]
    [InlineData(429, "rate_limit_exceeded", "Rate limit reached for requests", "rate_limit_error")]
    [InlineData(400, "invalid_request_error", "This model's maximum context length is 32768 tokens", "invalid_request_error")]
    [InlineData(503, "server_error", "The engine is currently overloaded", "api_error")]
    public async Task Upstream_errors_become_anthropic_errors_with_the_upstream_status_and_message(int status, string type, string message, string anthropicType)
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        openAi.Enqueue(UpstreamReply.Error(status, type, message));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.Client.SendAsync(request);

        Assert.Contains(message, await ErrorAssert.IsAnthropicErrorAsync(response, (HttpStatusCode)status, anthropicType), StringComparison.Ordinal);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_status_" + status, record.ErrorType);
    }

    [Fact]
    public async Task A_wrong_upstream_key_is_reported_as_the_servers_authentication_error()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync(new ScriptedOpenAi { ApiKey = "sk-some-other-key" });
        await using var harness = await StartAsync(openAi);

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        Assert.Contains("Incorrect API key provided.", await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error"), StringComparison.Ordinal);
        Assert.Equal("upstream_status_401", (await harness.SingleAuditAsync()).ErrorType);
    }

    [Fact]
    public async Task A_stream_that_ends_without_done_ends_with_an_error_event_and_is_audited_incomplete()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        openAi.Enqueue(ScriptedOpenAiReplies.Chunks(
            [ScriptedOpenAiReplies.Chunk(new { content = "Half an ans" }), ScriptedOpenAiReplies.Chunk(new { content = "wer" })], done: false));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal("Half an answer", DeltaText(events));
        Assert.Equal("error", events[^1].Name);
        Assert.Contains("before [DONE]", events[^1].Data, StringComparison.Ordinal);
        Assert.DoesNotContain(events, e => e.Name == "message_stop");
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_stream_incomplete", record.ErrorType);
    }

    [Fact]
    public async Task An_upstream_that_dies_mid_stream_ends_with_an_error_event()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        openAi.Enqueue(UpstreamReply.DieMidStream(afterEvents: 3));

        using var request = harness.Messages(RequestBodies.Streaming());
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal("error", events[^1].Name);
        Assert.DoesNotContain(events, e => e.Name == "message_stop");
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.StartsWith("upstream_stream_", record.ErrorType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_tool_arguments_in_a_completion_fail_the_answer_instead_of_passing_it_on()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        openAi.Enqueue(ScriptedOpenAiReplies.Completion("""
            {"id":"chatcmpl-x","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"tool_calls",
             "message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"Bash","arguments":"{\"command\": \"ls"}}]}}]}
            """));

        using var request = harness.Messages(RequestBodies.NonStreaming());
        await Assert.ThrowsAnyAsync<HttpRequestException>(async () =>
        {
            using var response = await harness.Client.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
        });
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("upstream_invalid_tool_arguments", record.ErrorType);
    }

    [Fact]
    public async Task A_secret_is_redacted_before_translation_so_the_server_sees_only_the_placeholder()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        var keyId = "AKIA" + System.Security.Cryptography.RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
        var body = "{\"model\":\"claude-opus-5-5\",\"max_tokens\":64,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"deploy with " + keyId + " please\"}]}";

        using var request = harness.Messages(body);
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal("message_stop", events[^1].Name);
        var call = Assert.Single(openAi.Calls);
        Assert.DoesNotContain(keyId, call.Request.BodyText, StringComparison.Ordinal);
        Assert.Matches(@"^deploy with \[REDACTED:aws-access-key-id:[0-9a-f]{4}\] please$", call.Messages[0].GetProperty("content").GetString());
        var record = await harness.SingleAuditAsync();
        Assert.Equal("redact", Assert.Single(record.Findings, f => f.RuleId == "aws-access-key-id").Action);
    }

    [Fact]
    public async Task Count_tokens_is_refused_as_an_unsupported_operation()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);

        using var request = harness.Messages(Encoding.UTF8.GetBytes(RequestBodies.NonStreaming()), path: "/v1/messages/count_tokens?beta=true");
        using var response = await harness.Client.SendAsync(request);

        Assert.Contains("count_tokens", await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.NotFound, "not_found_error"), StringComparison.Ordinal);
        Assert.Empty(openAi.Calls);
    }

    [Fact]
    public async Task Bedrock_door_to_an_openai_upstream_answers_in_event_stream_frames()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        openAi.Enqueue(UpstreamReply.Text("Over the Bedrock door."));
        const string body = "{\"anthropic_version\":\"bedrock-2023-05-31\",\"anthropic_beta\":[\"interleaved-thinking-2025-05-14\"],\"max_tokens\":256," +
            "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(harness.GatewayUri, "/bedrock/model/claude-opus-5-5/invoke-with-response-stream"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);

        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var frames = EventStreamDecoder.DecodeAll(await response.Content.ReadAsByteArrayAsync());
        Assert.True(frames.Count >= 5);
        Assert.All(frames, f => Assert.Equal("chunk", f.GetString(":event-type")));
        var call = Assert.Single(openAi.Calls);
        Assert.True(call.Streaming);
        Assert.Equal(LocalModel, call.Model);
    }
}
