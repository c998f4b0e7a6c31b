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

        var turn = Assert.Single(upstream.MessagesRequests);
        Assert.Equal("?beta=true", turn.QueryString);
        Assert.Equal("2023-06-01", turn.Header("anthropic-version"));
        Assert.Equal(upstream.ApiKey, turn.Header("x-api-key"));
        Assert.Null(turn.Header("authorization"));
        var betas = (turn.Header("anthropic-beta") ?? "").Split(',', StringSplitOptions.TrimEntries);
        Assert.Contains("claude-code-20250219", betas);
        Assert.True(Guid.TryParse(turn.Header("x-claude-code-session-id"), out _), "x-claude-code-session-id is a UUID");
        Assert.StartsWith($"claude-cli/{ClaudeCodeCli.PinnedVersion} ", turn.Header("user-agent"), StringComparison.Ordinal);

        using var body = turn.ParseBody();
        var root = body.RootElement;
        Assert.True(root.GetProperty("stream").GetBoolean());
        Assert.Equal(JsonValueKind.String, root.GetProperty("model").ValueKind);
        Assert.True(root.GetProperty("max_tokens").GetInt32() > 0);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("tools").ValueKind);
        Assert.Contains("say hi", turn.BodyText, StringComparison.Ordinal);

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
