using System.Text.Json;
using Airlock.Testing;
using Xunit.Abstractions;

namespace Airlock.EndToEndTests;

/// <summary>
/// The real Claude Code CLI against the <see cref="ScriptedUpstream"/> directly (no gateway): proves the harness
/// works and pins down what the pinned CLI version sends, which the gateway tests rely on.
/// </summary>
public sealed class ClaudeCodeHarnessTests(ITestOutputHelper output)
{
    /// <summary>When set, the tests also save the requests they observe as bench/data fixtures into this folder.</summary>
    private const string CaptureDirectoryVariable = "AIRLOCK_CAPTURE_DIR";

    [ClaudeCodeFact]
    public async Task Plain_prompt_returns_the_scripted_text_and_sends_claude_code_headers()
    {
        await using var upstream = await ScriptedUpstream.StartAsync();
        upstream.DefaultReply = UpstreamReply.Text("Hi there, this text came from the scripted upstream.", inputTokens: 42, outputTokens: 12);

        var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
        {
            Prompt = "say hi",
            BaseUrl = upstream.BaseUrl,
            ApiKey = upstream.ApiKey,
        });
        output.WriteLine(result.Describe());
        foreach (var request in upstream.Requests)
        {
            output.WriteLine(request.ToString());
        }

        Assert.Equal(0, result.ExitCode);
        Assert.False(result.IsError, result.Describe());
        Assert.Equal("Hi there, this text came from the scripted upstream.", result.ResultText);

        // With nonessential traffic off, print mode makes exactly one call: no count_tokens, models or probes.
        var turn = Assert.Single(upstream.Requests);
        Assert.Equal("POST", turn.Method);
        Assert.Equal("/v1/messages", turn.Path);
        Assert.Equal("?beta=true", turn.QueryString);
        Assert.Equal("cli", turn.Header("x-app"));
        Assert.Equal("2023-06-01", turn.Header("anthropic-version"));
        Assert.Equal(upstream.ApiKey, turn.Header("x-api-key"));
        Assert.Null(turn.Header("authorization"));
        Assert.Contains("claude-code-20250219", Betas(turn));
        Assert.True(Guid.TryParse(turn.Header("x-claude-code-session-id"), out _), "x-claude-code-session-id is a UUID");
        Assert.StartsWith($"claude-cli/{ClaudeCodeCli.PinnedVersion} ", turn.Header("user-agent"), StringComparison.Ordinal);

        using var body = turn.ParseBody();
        var root = body.RootElement;
        Assert.True(root.GetProperty("stream").GetBoolean());
        Assert.Equal(JsonValueKind.String, root.GetProperty("model").ValueKind);
        Assert.True(root.GetProperty("max_tokens").GetInt32() > 0);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("tools").ValueKind);
        Assert.Contains("say hi", turn.BodyText, StringComparison.Ordinal);

        // metadata.user_id is a JSON string that carries the same session id as the header.
        using var userId = JsonDocument.Parse(root.GetProperty("metadata").GetProperty("user_id").GetString()!);
        Assert.Equal(turn.Header("x-claude-code-session-id"), userId.RootElement.GetProperty("session_id").GetString());

        await CaptureAsync(turn, "claude-code-request.json", "claude-code-request.headers.txt");
    }

    [ClaudeCodeFact]
    public async Task Tool_round_trip_sends_the_file_text_back_as_a_tool_result()
    {
        var project = Directory.CreateTempSubdirectory("airlock-e2e-project-").FullName;
        try
        {
            // Made-up content with a unique marker, so the assertion can only pass if the CLI really read the file.
            var marker = $"marker-{Guid.NewGuid():N}";
            var filePath = Path.Combine(project, "notes.txt");
            await File.WriteAllTextAsync(filePath, $"Release notes draft\n{marker}\nend of notes\n");

            await using var upstream = await ScriptedUpstream.StartAsync();
            upstream.RespondWithToolRoundTrip("Read", new { file_path = filePath }, "The notes file holds a draft.");

            var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
            {
                Prompt = "Read notes.txt and summarize it.",
                BaseUrl = upstream.BaseUrl,
                ApiKey = upstream.ApiKey,
                WorkingDirectory = project,
            });
            output.WriteLine(result.Describe());
            foreach (var request in upstream.Requests)
            {
                output.WriteLine(request.ToString());
            }

            Assert.Equal(0, result.ExitCode);
            Assert.Equal("The notes file holds a draft.", result.ResultText);

            var turns = upstream.MessagesRequests;
            Assert.Equal(2, turns.Count);
            Assert.False(turns[0].LastMessageHasToolResult);

            var toolResult = Assert.Single(turns[1].LastMessageToolResults());
            Assert.False(toolResult.IsError, toolResult.Content);
            Assert.StartsWith("toolu_", toolResult.ToolUseId, StringComparison.Ordinal);
            Assert.Contains(marker, toolResult.Content, StringComparison.Ordinal);
            Assert.Contains("Release notes draft", toolResult.Content, StringComparison.Ordinal);

            // The second turn resends the whole conversation: the assistant's tool_use precedes the result.
            using var body = turns[1].ParseBody();
            var messages = body.RootElement.GetProperty("messages").EnumerateArray().ToList();
            var assistant = messages[^2];
            Assert.Equal("assistant", assistant.GetProperty("role").GetString());
            var toolUse = assistant.GetProperty("content").EnumerateArray()
                .Single(b => b.GetProperty("type").GetString() == "tool_use");
            Assert.Equal("Read", toolUse.GetProperty("name").GetString());
            Assert.Equal(toolResult.ToolUseId, toolUse.GetProperty("id").GetString());
            Assert.Equal(filePath, toolUse.GetProperty("input").GetProperty("file_path").GetString());

            // Same session on both turns.
            Assert.Equal(turns[0].Header("x-claude-code-session-id"), turns[1].Header("x-claude-code-session-id"));

            await CaptureAsync(turns[1], "claude-code-toolresult-request.json", "claude-code-toolresult-request.headers.txt");
        }
        finally
        {
            Directory.Delete(project, recursive: true);
        }
    }

    [ClaudeCodeFact]
    public async Task Settings_deny_rule_keeps_the_file_from_the_upstream()
    {
        var project = Directory.CreateTempSubdirectory("airlock-e2e-project-").FullName;
        try
        {
            var marker = $"marker-{Guid.NewGuid():N}";
            var filePath = Path.Combine(project, ".env");
            await File.WriteAllTextAsync(filePath, $"APP_MODE=demo\nNOTE={marker}\n");

            await using var upstream = await ScriptedUpstream.StartAsync();
            upstream.RespondWithToolRoundTrip("Read", new { file_path = filePath }, "could not read it");

            var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
            {
                Prompt = "Read .env",
                BaseUrl = upstream.BaseUrl,
                ApiKey = upstream.ApiKey,
                WorkingDirectory = project,
                Settings = """{"permissions":{"deny":["Read(./.env)"]}}""",
            });
            output.WriteLine(result.Describe());

            Assert.Equal("could not read it", result.ResultText);
            var turns = upstream.MessagesRequests;
            Assert.Equal(2, turns.Count);
            var toolResult = Assert.Single(turns[1].LastMessageToolResults());
            output.WriteLine(toolResult.Content);
            Assert.True(toolResult.IsError);
            Assert.Contains("denied", toolResult.Content, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(upstream.Requests, r => r.BodyText.Contains(marker, StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(project, recursive: true);
        }
    }

    [ClaudeCodeFact]
    public async Task Extra_environment_reaches_the_cli()
    {
        await using var upstream = await ScriptedUpstream.StartAsync();

        var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
        {
            Prompt = "say hi",
            BaseUrl = upstream.BaseUrl,
            ApiKey = upstream.ApiKey,
            Environment = new Dictionary<string, string>
            {
                ["ANTHROPIC_CUSTOM_HEADERS"] = "X-Airlock-Test: harness-check",
                ["CLAUDE_CODE_GATEWAY_HINT_HEADERS"] = "1",
            },
        });
        output.WriteLine(result.Describe());

        Assert.Equal(0, result.ExitCode);
        var turn = Assert.Single(upstream.MessagesRequests);
        foreach (var (name, value) in turn.HeaderLines)
        {
            output.WriteLine($"{name}: {(name.Equals("x-api-key", StringComparison.OrdinalIgnoreCase) ? "REDACTED" : value)}");
        }

        Assert.Equal("harness-check", turn.Header("x-airlock-test"));
        Assert.Equal("main", turn.Header("x-claude-code-request-class"));
    }

    [ClaudeCodeFact]
    public async Task Auth_token_is_sent_as_a_bearer_authorization_and_no_api_key()
    {
        await using var upstream = await ScriptedUpstream.StartAsync(new ScriptedUpstreamOptions { AcceptBearerToken = true });
        upstream.DefaultReply = UpstreamReply.Text("bearer accepted");

        var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
        {
            Prompt = "say hi",
            BaseUrl = upstream.BaseUrl,
            AuthToken = upstream.ApiKey,
        });
        output.WriteLine(result.Describe());

        Assert.Equal("bearer accepted", result.ResultText);
        var turn = Assert.Single(upstream.MessagesRequests);
        Assert.Equal("Bearer " + upstream.ApiKey, turn.Header("authorization"));
        Assert.Null(turn.Header("x-api-key"));
    }

    [ClaudeCodeFact]
    public async Task Permission_error_reaches_the_user_after_a_single_request()
    {
        await using var upstream = await ScriptedUpstream.StartAsync();
        upstream.DefaultReply = UpstreamReply.Error(403, "permission_error", "Blocked by scripted policy rule demo-1");

        var result = await RunSayHiAsync(upstream);

        // 403 is neither retried nor "repaired": one request, and the message reaches the user verbatim.
        Assert.Single(upstream.MessagesRequests);
        Assert.Equal(1, result.ExitCode);
        Assert.True(result.IsError, result.Describe());
        Assert.Equal(403, result.ApiErrorStatus);
        Assert.Contains("API Error: 403 Blocked by scripted policy rule demo-1", result.ResultText, StringComparison.Ordinal);
    }

    [ClaudeCodeFact]
    public async Task Invalid_request_error_makes_the_cli_retry_with_fewer_betas_before_it_fails()
    {
        await using var upstream = await ScriptedUpstream.StartAsync();
        upstream.DefaultReply = UpstreamReply.Error(400, "invalid_request_error", "Blocked by scripted policy rule demo-1");

        var result = await RunSayHiAsync(upstream);

        // Observed with 2.1.330: a 400 makes the CLI assume an unsupported beta and resend the turn while it
        // drops betas one by one (and, without advanced-tool-use, sends every tool instead of ToolSearch):
        // 6 requests for one turn. A gateway that blocks with 400 sees, inspects and audits each of them.
        var turns = upstream.MessagesRequests;
        foreach (var turn in turns)
        {
            output.WriteLine($"{turn} anthropic-beta: {turn.Header("anthropic-beta")}");
        }

        Assert.True(turns.Count > 1, $"expected the beta fallback to resend the turn, got {turns.Count} request(s)");
        Assert.Contains("advanced-tool-use-2025-11-20", Betas(turns[0]));
        Assert.DoesNotContain("advanced-tool-use-2025-11-20", Betas(turns[^1]));
        Assert.True(Betas(turns[^1]).Length < Betas(turns[0]).Length);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(400, result.ApiErrorStatus);
        Assert.Contains("API Error: 400 Blocked by scripted policy rule demo-1", result.ResultText, StringComparison.Ordinal);
    }

    [ClaudeCodeFact]
    public async Task Timeout_kills_a_cli_that_waits_on_a_hanging_upstream()
    {
        await using var upstream = await ScriptedUpstream.StartAsync();
        upstream.DefaultReply = UpstreamReply.Hang();

        var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
        {
            Prompt = "say hi",
            BaseUrl = upstream.BaseUrl,
            ApiKey = upstream.ApiKey,
            Timeout = TimeSpan.FromSeconds(6),
        });
        output.WriteLine(result.Describe());

        Assert.True(result.TimedOut);
        Assert.InRange(result.Elapsed, TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(20));
        Assert.NotEqual(0, result.ExitCode);
        // On a loaded machine the CLI may still be starting when the timeout hits; it never gets an answer.
        Assert.InRange(upstream.MessagesRequests.Count, 0, 1);
    }

    [Fact]
    public void Environment_drops_inherited_provider_settings_and_sets_the_gateway_variables()
    {
        const string Leaked = "ANTHROPIC_MODEL";
        var previous = Environment.GetEnvironmentVariable(Leaked);
        Environment.SetEnvironmentVariable(Leaked, "should-not-reach-the-cli");
        try
        {
            var options = new ClaudeCodeRunOptions
            {
                Prompt = "p",
                BaseUrl = "http://127.0.0.1:1",
                ApiKey = "k",
                Environment = new Dictionary<string, string> { ["CLAUDE_CODE_GATEWAY_HINT_HEADERS"] = "1" },
            };
            var environment = ClaudeCodeCli.BuildEnvironment(options, "/tmp/fake-home");

            Assert.False(environment.ContainsKey(Leaked));
            Assert.Equal("/tmp/fake-home", environment["HOME"]);
            Assert.Equal("http://127.0.0.1:1", environment["ANTHROPIC_BASE_URL"]);
            Assert.Equal("k", environment["ANTHROPIC_API_KEY"]);
            Assert.False(environment.ContainsKey("ANTHROPIC_AUTH_TOKEN"));
            Assert.Equal("1", environment["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"]);
            Assert.Equal("1", environment["DISABLE_TELEMETRY"]);
            Assert.Equal("1", environment["DISABLE_ERROR_REPORTING"]);
            Assert.Equal("1", environment["CLAUDE_CODE_GATEWAY_HINT_HEADERS"]);
            Assert.DoesNotContain(environment.Keys, k => k.StartsWith("CLAUDE", StringComparison.Ordinal)
                && k is not "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" and not "CLAUDE_CODE_GATEWAY_HINT_HEADERS");
        }
        finally
        {
            Environment.SetEnvironmentVariable(Leaked, previous);
        }
    }

    [Fact]
    public void Arguments_use_print_mode_with_json_output_and_the_requested_flags()
    {
        var arguments = ClaudeCodeCli.BuildArguments(new ClaudeCodeRunOptions
        {
            Prompt = "do it",
            BaseUrl = "http://127.0.0.1:1",
            AllowedTools = ["Read", "Bash(git status)"],
            Settings = """{"permissions":{"deny":["Read(./.env)"]}}""",
            Model = "claude-sonnet-4-5",
        });

        Assert.Equal(
            ["-p", "do it", "--output-format", "json", "--allowedTools", "Read,Bash(git status)",
             "--settings", """{"permissions":{"deny":["Read(./.env)"]}}""", "--model", "claude-sonnet-4-5"],
            arguments);
    }

    [ClaudeCodeTheory]
    [InlineData("connection dies mid-stream", 1)]
    [InlineData("529 overloaded, then 429 rate limited", 2)]
    public async Task Transient_upstream_failures_make_the_cli_resend_the_same_turn(string failure, int failedAttempts)
    {
        await using var upstream = await ScriptedUpstream.StartAsync();
        UpstreamReply[] failures = failure switch
        {
            "connection dies mid-stream" => [UpstreamReply.DieMidStream(afterEvents: 4)],
            _ => [UpstreamReply.Error(529, "overloaded_error", "Overloaded"), UpstreamReply.Error(429, "rate_limit_error", "Slow down")],
        };
        upstream.Enqueue(failures);
        upstream.DefaultReply = UpstreamReply.Text("recovered after a transient failure");

        var result = await RunSayHiAsync(upstream);

        // Observed with 2.1.330: the CLI retries on its own (x-stainless-retry-count stays 0), after about
        // the retry-after second, and resends the identical body; a gateway sees each attempt as a new request.
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("recovered after a transient failure", result.ResultText);
        var turns = upstream.MessagesRequests;
        Assert.Equal(failedAttempts + 1, turns.Count);
        Assert.All(turns, t => Assert.Equal(turns[0].Body.ToArray(), t.Body.ToArray()));
        Assert.All(turns, t => Assert.Equal(turns[0].Header("x-claude-code-session-id"), t.Header("x-claude-code-session-id")));
    }

    [ClaudeCodeFact]
    public async Task Sse_error_event_mid_stream_makes_the_cli_retry_without_streaming()
    {
        await using var upstream = await ScriptedUpstream.StartAsync();
        upstream.Enqueue(UpstreamReply.ErrorEventMidStream(afterEvents: 3, "overloaded_error", "Overloaded"));
        upstream.DefaultReply = UpstreamReply.Text("recovered without streaming");

        var result = await RunSayHiAsync(upstream);

        // Observed with 2.1.330: after an SSE error event the CLI falls back to a NON-streaming request
        // (stream:false, max_tokens lowered from 128000 to 64000), otherwise the same turn. A gateway must
        // therefore serve, inspect and audit JSON answers as well as SSE.
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("recovered without streaming", result.ResultText);
        var turns = upstream.MessagesRequests;
        Assert.Equal(2, turns.Count);
        Assert.True(turns[0].IsStreaming);
        Assert.False(turns[1].IsStreaming);
        using var first = turns[0].ParseBody();
        using var retry = turns[1].ParseBody();
        Assert.Equal(128000, first.RootElement.GetProperty("max_tokens").GetInt32());
        Assert.Equal(64000, retry.RootElement.GetProperty("max_tokens").GetInt32());
        Assert.Equal(first.RootElement.GetProperty("messages").GetRawText(), retry.RootElement.GetProperty("messages").GetRawText());
        Assert.Equal(first.RootElement.GetProperty("system").GetRawText(), retry.RootElement.GetProperty("system").GetRawText());
    }

    private static string[] Betas(RecordedRequest request)
        => (request.Header("anthropic-beta") ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private async Task<ClaudeCodeResult> RunSayHiAsync(ScriptedUpstream upstream)
    {
        var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
        {
            Prompt = "say hi",
            BaseUrl = upstream.BaseUrl,
            ApiKey = upstream.ApiKey,
        });
        output.WriteLine(result.Describe());
        return result;
    }

    private async Task CaptureAsync(RecordedRequest request, string bodyFile, string headersFile)
    {
        var directory = Environment.GetEnvironmentVariable(CaptureDirectoryVariable);
        if (string.IsNullOrEmpty(directory))
        {
            return;
        }

        Directory.CreateDirectory(directory);
        await CapturedRequestFiles.WriteAsync(request, Path.Combine(directory, bodyFile), Path.Combine(directory, headersFile));
        output.WriteLine($"captured {request} into {directory}");
    }
}
