using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Airlock.Testing;

namespace Airlock.EndToEndTests;

/// <summary>
/// The scripted upstream is what every functional and end-to-end test trusts to behave like the Anthropic
/// API; these tests hold it to that with a plain HttpClient over real loopback sockets.
/// </summary>
public sealed class ScriptedUpstreamSelfTests : IAsyncLifetime
{
    private const string MinimalBody = """{"model":"claude-opus-5-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}""";
    private const string StreamingBody = """{"model":"claude-opus-5-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}""";

    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    private ScriptedUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await ScriptedUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _client.Dispose();
    }

    [Fact]
    public void Listens_on_a_loopback_port()
    {
        Assert.StartsWith("http://127.0.0.1:", _upstream.BaseUrl, StringComparison.Ordinal);
        Assert.InRange(_upstream.Port, 1, 65535);
        Assert.Equal(_upstream.Port, _upstream.BaseUri.Port);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task Rejects_a_missing_or_wrong_api_key_with_an_anthropic_authentication_error(string? apiKey)
    {
        using var request = Request(HttpMethod.Post, "/v1/messages", MinimalBody, apiKey: apiKey);
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
        Assert.Equal("authentication_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("invalid x-api-key", error.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.StartsWith("req_", response.Headers.GetValues("request-id").Single(), StringComparison.Ordinal);

        // Rejected requests are recorded too: a gateway test may need to see what was forwarded.
        var recorded = Assert.Single(_upstream.Requests);
        Assert.Equal(apiKey, recorded.Header("x-api-key"));
    }

    [Fact]
    public async Task Bearer_token_is_rejected_unless_enabled()
    {
        using (var request = Request(HttpMethod.Post, "/v1/messages", MinimalBody, apiKey: null))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _upstream.ApiKey);
            using var response = await _client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        await using var bearerUpstream = await ScriptedUpstream.StartAsync(new ScriptedUpstreamOptions { AcceptBearerToken = true });
        using var bearerRequest = new HttpRequestMessage(HttpMethod.Post, bearerUpstream.BaseUrl + "/v1/messages")
        {
            Content = JsonContent(MinimalBody),
        };
        bearerRequest.Headers.Add("anthropic-version", "2023-06-01");
        bearerRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerUpstream.ApiKey);
        using var accepted = await _client.SendAsync(bearerRequest);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task Requires_the_anthropic_version_header()
    {
        using var request = Request(HttpMethod.Post, "/v1/messages", MinimalBody, version: null);
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = await ErrorMessageAsync(response, "invalid_request_error");
        Assert.Contains("anthropic-version", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"max_tokens":10,"messages":[]}""", "model: Field required")]
    [InlineData("""{"model":"m","max_tokens":10}""", "messages: Field required")]
    [InlineData("""{"model":"m","messages":[]}""", "max_tokens: Field required")]
    [InlineData("""{"model":5,"max_tokens":10,"messages":[]}""", "model: Input should be a valid string")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":{}}""", "messages: Input should be a valid list")]
    [InlineData("""{"model":"m","max_tokens":"10","messages":[]}""", "max_tokens: Input should be a valid integer")]
    [InlineData("""{"model":"m",""", "not valid JSON")]
    [InlineData("""[1,2]""", "JSON object")]
    public async Task Rejects_a_body_without_the_required_fields_naming_the_field(string body, string expectedMessage)
    {
        using var request = Request(HttpMethod.Post, "/v1/messages", body);
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = await ErrorMessageAsync(response, "invalid_request_error");
        Assert.Contains(expectedMessage, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Count_tokens_needs_no_max_tokens_and_answers_input_tokens()
    {
        const string Body = """{"model":"claude-opus-5-5","messages":[{"role":"user","content":"count me"}]}""";
        using var request = Request(HttpMethod.Post, "/v1/messages/count_tokens?beta=true", Body);
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((Encoding.UTF8.GetByteCount(Body) + 3) / 4, json.RootElement.GetProperty("input_tokens").GetInt32());
        var recorded = Assert.Single(_upstream.Requests);
        Assert.Equal("/v1/messages/count_tokens", recorded.Path);
        Assert.Equal("?beta=true", recorded.QueryString);
        Assert.Empty(_upstream.MessagesRequests);
    }

    [Fact]
    public async Task Lists_models()
    {
        using var request = Request(HttpMethod.Get, "/v1/models?limit=1000", body: null);
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var ids = json.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString() ?? "").ToList();
        Assert.Equal(new ScriptedUpstreamOptions().Models, ids);
        Assert.False(json.RootElement.GetProperty("has_more").GetBoolean());
    }

    [Fact]
    public async Task Unknown_paths_get_an_anthropic_not_found_error()
    {
        using var request = Request(HttpMethod.Post, "/v1/complete", MinimalBody);
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await ErrorMessageAsync(response, "not_found_error");
    }

    [Fact]
    public async Task Streams_text_as_messages_sse_with_usage_pings_and_several_deltas()
    {
        const string Text = "The quick brown fox jumps over the lazy dog, twice over.";
        _upstream.Enqueue(UpstreamReply.Text(Text, inputTokens: 321, outputTokens: 17));

        using var request = Request(HttpMethod.Post, "/v1/messages?beta=true", StreamingBody);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.StartsWith("req_", response.Headers.GetValues("request-id").Single(), StringComparison.Ordinal);
        Assert.True(response.Headers.Contains("anthropic-ratelimit-requests-remaining"));

        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());
        var names = events.Select(e => e.Name).ToList();
        Assert.Equal("message_start", names[0]);
        Assert.Equal("content_block_start", names[1]);
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], names[^3..]);
        Assert.Contains("ping", names);
        Assert.All(events, e => Assert.Equal(e.Name, JsonDocument.Parse(e.Data).RootElement.GetProperty("type").GetString()));

        using var start = JsonDocument.Parse(events[0].Data);
        var message = start.RootElement.GetProperty("message");
        Assert.StartsWith("msg_", message.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("claude-opus-5-5", message.GetProperty("model").GetString());
        Assert.Equal(321, message.GetProperty("usage").GetProperty("input_tokens").GetInt32());

        var deltas = events.Where(e => e.Name == "content_block_delta").Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("delta")).ToList();
        Assert.True(deltas.Count >= 3, $"expected several text deltas, got {deltas.Count}");
        Assert.All(deltas, d => Assert.Equal("text_delta", d.GetProperty("type").GetString()));
        Assert.Equal(Text, string.Concat(deltas.Select(d => d.GetProperty("text").GetString())));

        using var messageDelta = JsonDocument.Parse(events[^2].Data);
        Assert.Equal("end_turn", messageDelta.RootElement.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(17, messageDelta.RootElement.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task Answers_a_non_streaming_request_with_a_json_message()
    {
        _upstream.Enqueue(UpstreamReply.Text("plain answer", inputTokens: 9, outputTokens: 2));

        using var request = Request(HttpMethod.Post, "/v1/messages", MinimalBody);
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal("message", root.GetProperty("type").GetString());
        Assert.Equal("assistant", root.GetProperty("role").GetString());
        Assert.Equal("plain answer", root.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("end_turn", root.GetProperty("stop_reason").GetString());
        Assert.Equal(9, root.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(2, root.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task Streams_a_tool_call_as_input_json_deltas_that_concatenate_to_the_input()
    {
        _upstream.Enqueue(UpstreamReply.ToolUse("Read", new { file_path = "/srv/project/config.yaml", limit = 40 }));

        using var request = Request(HttpMethod.Post, "/v1/messages", StreamingBody);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        using var blockStart = JsonDocument.Parse(events.First(e => e.Name == "content_block_start").Data);
        var block = blockStart.RootElement.GetProperty("content_block");
        Assert.Equal("tool_use", block.GetProperty("type").GetString());
        Assert.Equal("Read", block.GetProperty("name").GetString());
        Assert.StartsWith("toolu_", block.GetProperty("id").GetString(), StringComparison.Ordinal);

        var fragments = events.Where(e => e.Name == "content_block_delta")
            .Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("delta"))
            .Select(d => (Type: d.GetProperty("type").GetString(), Json: d.GetProperty("partial_json").GetString()))
            .ToList();
        Assert.True(fragments.Count(f => f.Json!.Length > 0) >= 2, "the input arrives in several fragments");
        Assert.All(fragments, f => Assert.Equal("input_json_delta", f.Type));
        using var input = JsonDocument.Parse(string.Concat(fragments.Select(f => f.Json)));
        Assert.Equal("/srv/project/config.yaml", input.RootElement.GetProperty("file_path").GetString());
        Assert.Equal(40, input.RootElement.GetProperty("limit").GetInt32());

        using var messageDelta = JsonDocument.Parse(events.Single(e => e.Name == "message_delta").Data);
        Assert.Equal("tool_use", messageDelta.RootElement.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public async Task Scripted_error_has_the_status_body_and_retry_headers_of_a_provider()
    {
        _upstream.Enqueue(
            UpstreamReply.Error(429, "rate_limit_error", "Number of requests has exceeded your rate limit", new KeyValuePair<string, string>("anthropic-ratelimit-requests-remaining", "0")),
            UpstreamReply.Error(400, "invalid_request_error", "prompt is too long"));

        using (var request = Request(HttpMethod.Post, "/v1/messages", StreamingBody))
        {
            using var response = await _client.SendAsync(request);
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            Assert.Equal("1", response.Headers.GetValues("retry-after").Single());
            Assert.Equal("true", response.Headers.GetValues("x-should-retry").Single());
            Assert.Equal("0", response.Headers.GetValues("anthropic-ratelimit-requests-remaining").Single());
            Assert.Equal("Number of requests has exceeded your rate limit", await ErrorMessageAsync(response, "rate_limit_error"));
        }

        using (var request = Request(HttpMethod.Post, "/v1/messages", StreamingBody))
        {
            using var response = await _client.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
            Assert.False(response.Headers.Contains("retry-after"));
            Assert.Equal("prompt is too long", await ErrorMessageAsync(response, "invalid_request_error"));
        }
    }

    [Fact]
    public async Task Dying_mid_stream_surfaces_as_an_io_exception_after_the_first_events()
    {
        _upstream.Enqueue(UpstreamReply.DieMidStream(afterEvents: 3));

        using var request = Request(HttpMethod.Post, "/v1/messages", StreamingBody);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var received = new List<SseEvent>();
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            await foreach (var sseEvent in SseStreamReader.ReadEventsAsync(await response.Content.ReadAsStreamAsync()))
            {
                received.Add(sseEvent);
            }
        });
        Assert.Equal(["message_start", "content_block_start", "ping"], received.Select(e => e.Name));
    }

    [Fact]
    public async Task Error_event_mid_stream_ends_the_stream_with_an_sse_error()
    {
        _upstream.Enqueue(UpstreamReply.ErrorEventMidStream(afterEvents: 2));

        using var request = Request(HttpMethod.Post, "/v1/messages", StreamingBody);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(["message_start", "content_block_start", "error"], events.Select(e => e.Name));
        using var error = JsonDocument.Parse(events[^1].Data);
        Assert.Equal("overloaded_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Records_method_path_query_headers_and_the_exact_body_bytes()
    {
        // Odd spacing, escapes, non-ASCII, an unknown field and a trailing newline: none of it may change.
        var body = Encoding.UTF8.GetBytes("{ \"model\" : \"claude-opus-5-5\",\"max_tokens\":8,\n \"future_field\":{\"x\":[1,2.50]},\"messages\":[{\"role\":\"user\",\"content\":\"caf\u00e9 \\u00e9 \\\"q\\\" \u2603\"}] }\n");
        using var request = Request(HttpMethod.Post, "/v1/messages?beta=true&x=1", body: null);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("anthropic-beta", ["beta-one", "beta-two"]);
        request.Headers.TryAddWithoutValidation("X-Custom-Trace", "abc; def");

        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var recorded = Assert.Single(_upstream.Requests);
        Assert.Equal("POST", recorded.Method);
        Assert.Equal("/v1/messages", recorded.Path);
        Assert.Equal("?beta=true&x=1", recorded.QueryString);
        Assert.Equal(body, recorded.Body.ToArray());
        Assert.Equal(body, recorded.GetBodyBytes());
        Assert.Equal(_upstream.ApiKey, recorded.Header("x-api-key"));
        Assert.Equal("2023-06-01", recorded.Header("ANTHROPIC-VERSION"));
        Assert.Equal("abc; def", recorded.Header("x-custom-trace"));
        Assert.Equal("beta-one, beta-two", string.Join(", ", recorded.Headers["anthropic-beta"]));
        Assert.Contains(recorded.HeaderLines, h => h.Key == "X-Custom-Trace");
        Assert.Equal(0, recorded.Sequence);
    }

    [Fact]
    public async Task Replies_come_from_the_responder_then_the_queue_then_the_default()
    {
        _upstream.DefaultReply = UpstreamReply.Text("default");
        _upstream.Enqueue(UpstreamReply.Text("first"), UpstreamReply.Text("second"));

        Assert.Equal("first", await AskAsync("one"));
        Assert.Equal(1, _upstream.PendingReplies);

        _upstream.Responder = r => r.BodyText.Contains("special", StringComparison.Ordinal) ? UpstreamReply.Text("chosen") : null;
        Assert.Equal("chosen", await AskAsync("special"));
        Assert.Equal(1, _upstream.PendingReplies);
        Assert.Equal("second", await AskAsync("two"));
        Assert.Equal("default", await AskAsync("three"));
        Assert.Equal("default", await AskAsync("four"));
        Assert.Equal(5, _upstream.MessagesRequests.Count);
    }

    [Fact]
    public async Task A_throwing_responder_answers_500_and_is_reported_as_a_failure()
    {
        _upstream.Responder = _ => throw new InvalidOperationException("script bug");

        using var request = Request(HttpMethod.Post, "/v1/messages", MinimalBody);
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("script bug", await ErrorMessageAsync(response, "api_error"), StringComparison.Ordinal);
        Assert.Equal("script bug", Assert.Single(_upstream.Failures).Message);
    }

    [Fact]
    public async Task Tool_round_trip_script_asks_for_the_tool_until_a_tool_result_comes_back()
    {
        _upstream.RespondWithToolRoundTrip("Read", new { file_path = "/work/a.txt" }, "done reading");

        using (var first = Request(HttpMethod.Post, "/v1/messages", MinimalBody))
        {
            using var response = await _client.SendAsync(first);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("tool_use", json.RootElement.GetProperty("stop_reason").GetString());
            Assert.Equal("/work/a.txt", json.RootElement.GetProperty("content")[0].GetProperty("input").GetProperty("file_path").GetString());
        }

        const string WithResult = """
            {"model":"m","max_tokens":10,"messages":[
              {"role":"user","content":"read it"},
              {"role":"assistant","content":[{"type":"tool_use","id":"toolu_01","name":"Read","input":{"file_path":"/work/a.txt"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":[{"type":"text","text":"line one"}]}]}]}
            """;
        using var second = Request(HttpMethod.Post, "/v1/messages", WithResult);
        using var secondResponse = await _client.SendAsync(second);
        using var secondJson = JsonDocument.Parse(await secondResponse.Content.ReadAsStringAsync());
        Assert.Equal("done reading", secondJson.RootElement.GetProperty("content")[0].GetProperty("text").GetString());

        var toolResult = Assert.Single(_upstream.MessagesRequests[1].LastMessageToolResults());
        Assert.Equal(new ToolResultBlock("toolu_01", "line one", IsError: false), toolResult);
    }

    [Fact]
    public async Task First_byte_delay_holds_back_the_response_headers()
    {
        var delay = TimeSpan.FromMilliseconds(400);
        _upstream.Enqueue(UpstreamReply.Delay(delay, UpstreamReply.Text("late")));

        var stopwatch = Stopwatch.StartNew();
        using var request = Request(HttpMethod.Post, "/v1/messages", StreamingBody);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        stopwatch.Stop();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(stopwatch.Elapsed >= delay - TimeSpan.FromMilliseconds(20), $"headers after {stopwatch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Event_delay_spaces_the_events_and_each_event_arrives_on_its_own()
    {
        var gap = TimeSpan.FromMilliseconds(150);
        _upstream.Enqueue(UpstreamReply.Text("one two three").WithEventDelay(gap));

        var stopwatch = Stopwatch.StartNew();
        using var request = Request(HttpMethod.Post, "/v1/messages", StreamingBody);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var arrivals = new List<TimeSpan>();
        await foreach (var _ in SseStreamReader.ReadEventsAsync(await response.Content.ReadAsStreamAsync()))
        {
            arrivals.Add(stopwatch.Elapsed);
        }

        Assert.True(arrivals.Count >= 7, $"got {arrivals.Count} events");
        // The first event goes out with the headers and each later one waits for the gap, so the last one
        // cannot arrive before (n-1) gaps. A slow client can only make that later, never earlier.
        Assert.True(arrivals[^1] >= gap * (arrivals.Count - 1), $"last event after {arrivals[^1].TotalMilliseconds} ms");
        // Streaming, not buffering: the events arrive spread out, not as one batch at the end.
        var gaps = arrivals.Zip(arrivals.Skip(1), (a, b) => b - a).ToList();
        Assert.True(gaps.Count(g => g >= gap / 2) >= gaps.Count / 2, "gaps: " + string.Join(", ", gaps.Select(g => (int)g.TotalMilliseconds)));
    }

    [Fact]
    public async Task Hang_holds_the_request_until_the_client_gives_up()
    {
        _upstream.Enqueue(UpstreamReply.Hang());

        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        using var request = Request(HttpMethod.Post, "/v1/messages", StreamingBody);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.SendAsync(request, timeout.Token));
        Assert.Single(_upstream.MessagesRequests);

        // The upstream still works for the next request.
        Assert.Equal("Hello from the scripted upstream.", await AskAsync("next"));
    }

    [Fact]
    public async Task Disposing_releases_a_hanging_request_with_a_broken_connection()
    {
        var upstream = await ScriptedUpstream.StartAsync();
        upstream.Enqueue(UpstreamReply.Hang());
        using var request = new HttpRequestMessage(HttpMethod.Post, upstream.BaseUrl + "/v1/messages") { Content = JsonContent(StreamingBody) };
        request.Headers.Add("x-api-key", upstream.ApiKey);
        request.Headers.Add("anthropic-version", "2023-06-01");
        var pending = _client.SendAsync(request);
        await upstream.WaitForRequestsAsync(1, TimeSpan.FromSeconds(10));

        var stopwatch = Stopwatch.StartNew();
        await upstream.DisposeAsync();
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"dispose took {stopwatch.Elapsed}");
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => pending);
    }

    [Fact]
    public async Task Wait_for_requests_returns_when_they_arrive_and_times_out_with_what_came()
    {
        var waiting = _upstream.WaitForRequestsAsync(2, TimeSpan.FromSeconds(10));
        Assert.False(waiting.IsCompleted);
        await AskAsync("a");
        await AskAsync("b");
        var requests = await waiting;
        Assert.Equal(2, requests.Count);

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => _upstream.WaitForRequestsAsync(3, TimeSpan.FromMilliseconds(100)));
        Assert.Contains("got 2", timeout.Message, StringComparison.Ordinal);

        var filtered = await _upstream.WaitForRequestsAsync(1, r => r.BodyText.Contains("\"b\"", StringComparison.Ordinal), TimeSpan.FromSeconds(1));
        Assert.Equal(1, Assert.Single(filtered).Sequence);
    }

    [Fact]
    public async Task Serves_concurrent_requests_and_numbers_them_in_arrival_order()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => AskAsync($"q{i}")));

        Assert.All(answers, a => Assert.Equal("Hello from the scripted upstream.", a));
        Assert.Equal(Enumerable.Range(0, 8), _upstream.Requests.Select(r => r.Sequence).Order());
    }

    private HttpRequestMessage Request(HttpMethod method, string pathAndQuery, string? body, string? apiKey = "<default>", string? version = "2023-06-01")
    {
        var request = new HttpRequestMessage(method, _upstream.BaseUrl + pathAndQuery);
        if (body is not null)
        {
            request.Content = JsonContent(body);
        }

        var key = apiKey == "<default>" ? _upstream.ApiKey : apiKey;
        if (key is not null)
        {
            request.Headers.Add("x-api-key", key);
        }

        if (version is not null)
        {
            request.Headers.Add("anthropic-version", version);
        }

        return request;
    }

    private static ByteArrayContent JsonContent(string body)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private async Task<string?> AskAsync(string prompt)
    {
        var body = JsonSerializer.Serialize(new { model = "claude-opus-5-5", max_tokens = 16, messages = new[] { new { role = "user", content = prompt } } });
        using var request = Request(HttpMethod.Post, "/v1/messages", body);
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("content")[0].GetProperty("text").GetString();
    }

    private static async Task<string?> ErrorMessageAsync(HttpResponseMessage response, string expectedType)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("error", json.RootElement.GetProperty("type").GetString());
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(expectedType, error.GetProperty("type").GetString());
        return error.GetProperty("message").GetString();
    }
}
