using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Airlock.ClaudeCode.Events;
using Airlock.ClaudeCode.Hooks;

namespace Airlock.Tests.ClaudeCode;

/// <summary>The hook process's contract with Claude Code, run in-process: stdin in, stdout/exit code out, within budget.</summary>
public sealed class HookRunnerTests : IDisposable
{
    private readonly string _project = Directory.CreateTempSubdirectory("airlock-runner-project-").FullName;
    private readonly string _state = Directory.CreateTempSubdirectory("airlock-runner-state-").FullName;

    [Fact]
    public async Task A_denied_read_answers_with_the_PreToolUse_decision_shape()
    {
        var (exit, stdout, _) = await RunAsync(Event("PreToolUse", """ "tool_name":"Read","tool_input":{"file_path":".env"} """));
        Assert.Equal(0, exit);
        using var answer = JsonDocument.Parse(stdout);
        var specific = answer.RootElement.GetProperty("hookSpecificOutput");
        Assert.Equal("PreToolUse", specific.GetProperty("hookEventName").GetString());
        Assert.Equal("deny", specific.GetProperty("permissionDecision").GetString());
        Assert.Contains(".env", specific.GetProperty("permissionDecisionReason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blocked_prompt_answers_with_decision_block()
    {
        var prompt = JsonSerializer.Serialize("here is the key " + HookDecisionTests.PrivateKeyPem());
        var (exit, stdout, _) = await RunAsync(Event("UserPromptSubmit", $""" "prompt":{prompt} """));
        Assert.Equal(0, exit);
        using var answer = JsonDocument.Parse(stdout);
        Assert.Equal("block", answer.RootElement.GetProperty("decision").GetString());
        Assert.False(string.IsNullOrEmpty(answer.RootElement.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task An_allowed_call_prints_nothing_so_the_normal_permission_flow_goes_on()
    {
        File.WriteAllText(Path.Combine(_project, "README.md"), "hello\n");
        var (exit, stdout, _) = await RunAsync(Event("PreToolUse", """ "tool_name":"Read","tool_input":{"file_path":"README.md"} """));
        Assert.Equal(0, exit);
        Assert.Equal("", stdout);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"session_id\":\"s\"}")]
    [InlineData("")]
    [InlineData("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Read\"")]
    [InlineData("{\"hook_event_name\":\"PreToolUse\"} {\"hook_event_name\":\"Stop\"}")]
    [InlineData("{\"hook_event_name\":\"PreToolUse\",\"tool_input\":{\"file_path\":\"a\",}}")]
    [InlineData("{\"hook_event_name\":\"PreToolUse\",\"cwd\":\"\\ud800\"}")]
    [InlineData("{\"hook_event_name\":7}")]
    public async Task Malformed_input_is_refused_with_exit_2_and_a_reason_when_failing_closed(string stdin)
    {
        var (exit, stdout, stderr) = await RunAsync(stdin);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("Airlock:", stderr, StringComparison.Ordinal);
        Assert.Contains("fails closed", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Input_nested_deeper_than_the_reader_allows_is_refused_with_a_reason()
    {
        var deep = "{\"hook_event_name\":\"PreToolUse\",\"tool_input\":" + new string('[', 300) + new string(']', 300) + "}";
        var (exit, stdout, stderr) = await RunAsync(deep);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Contains("not valid JSON", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_input_passes_with_a_note_when_the_cached_policy_fails_open()
    {
        var policy = new HookPolicy { DenyFiles = ["*.secret"], FailClosed = false };
        new HookState(_state).WritePrivate(new HookState(_state).PolicyPath, policy.ToJson(DateTimeOffset.UtcNow));
        var (exit, _, stderr) = await RunAsync("{oops");
        Assert.Equal(0, exit);
        Assert.Contains("fails open", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_events_are_answered_with_no_opinion()
    {
        var (exit, stdout, _) = await RunAsync(Event("BrandNewEvent", """ "whatever":{"deep":[1,2,3]} """));
        Assert.Equal(0, exit);
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task Huge_input_is_refused_quickly_without_reading_it_into_memory()
    {
        var huge = new byte[HookRunner.MaxInputBytes + 1024];
        huge.AsSpan().Fill((byte)'a');
        var started = Stopwatch.GetTimestamp();
        var (exit, _, stderr) = await RunAsync(huge);
        Assert.Equal(2, exit);
        Assert.Contains("larger than", stderr, StringComparison.Ordinal);
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_huge_tool_input_is_still_decided()
    {
        var content = JsonSerializer.Serialize(new string('x', 5 * 1024 * 1024));
        var (exit, stdout, _) = await RunAsync(Event("PreToolUse", $$""" "tool_name":"Write","tool_input":{"file_path":"id_rsa","content":{{content}}} """));
        Assert.Equal(0, exit);
        Assert.Contains("\"deny\"", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gateway_that_never_answers_costs_the_send_budget_and_the_event_waits_in_the_queue()
    {
        // Accepts connections and never answers: the worst gateway there is.
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var accepted = new List<Socket>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    accepted.Add(await blackHole.AcceptSocketAsync());
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }
            }
        });
        var gateway = $"http://127.0.0.1:{((IPEndPoint)blackHole.LocalEndpoint).Port}";
        new HookState(_state).WriteCredential(new HookCredential(gateway, "alk_test"));

        var started = Stopwatch.GetTimestamp();
        var (exit, stdout, _) = await RunAsync(Event("PostToolUse", """ "tool_name":"Read","tool_input":{"file_path":"/x/README.md"},"duration_ms":12 """));
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(0, exit);
        Assert.Equal("", stdout);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed.TotalMilliseconds} ms");
        var queued = new EventSpool(new HookState(_state).QueueDirectory).Peek();
        var item = Assert.Single(queued);
        using var json = JsonDocument.Parse(item.Json);
        Assert.Equal("PostToolUse", json.RootElement.GetProperty("hook_event").GetString());
        Assert.Equal("/x/README.md", json.RootElement.GetProperty("file_paths")[0].GetString());
        Assert.Equal(12, json.RootElement.GetProperty("duration_ms").GetDouble());
        blackHole.Stop();
        accepted.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task Events_never_carry_prompt_text_and_commands_are_redacted()
    {
        var key = "AKIA" + System.Security.Cryptography.RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
        await RunAsync(Event("UserPromptSubmit", """ "prompt":"please refactor the parser" """));
        await RunAsync(Event("PostToolUse", $$""" "tool_name":"Bash","tool_input":{"command":"export AWS_ACCESS_KEY_ID={{key}}"} """));
        var queued = new EventSpool(new HookState(_state).QueueDirectory).Peek();
        Assert.Equal(2, queued.Count);
        var all = string.Join("\n", queued.Select(q => Encoding.UTF8.GetString(q.Json)));
        Assert.DoesNotContain("refactor the parser", all, StringComparison.Ordinal);
        Assert.Contains("\"prompt_length\":26", all, StringComparison.Ordinal);
        Assert.DoesNotContain(key, all, StringComparison.Ordinal);
        Assert.Contains("[REDACTED:aws-access-key-id]", all, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--gateway")]
    public async Task Bad_arguments_exit_64_with_usage(string argument)
    {
        var stderr = new StringWriter();
        var exit = await HookRunner.RunAsync([argument], new HookEnvironment { Stdin = Stream.Null, Stdout = new StringWriter(), Stderr = stderr });
        Assert.Equal(64, exit);
        Assert.Contains("usage:", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiKey_without_a_login_says_how_to_log_in()
    {
        var stderr = new StringWriter();
        var exit = await HookRunner.RunAsync(["api-key", "--state-dir", _state], new HookEnvironment
        {
            Stdin = Stream.Null,
            Stdout = new StringWriter(),
            Stderr = stderr,
            GetEnvironment = _ => null,
        });
        Assert.Equal(1, exit);
        Assert.Contains("airlock-hook login", stderr.ToString(), StringComparison.Ordinal);
    }

    private string Event(string name, string fields) =>
        $$"""{"session_id":"s-1","transcript_path":"/tmp/t.jsonl","cwd":{{JsonSerializer.Serialize(_project)}},"hook_event_name":"{{name}}",{{fields}}}""";

    private Task<(int Exit, string Stdout, string Stderr)> RunAsync(string stdin) => RunAsync(Encoding.UTF8.GetBytes(stdin));

    private async Task<(int Exit, string Stdout, string Stderr)> RunAsync(byte[] stdin)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await HookRunner.RunAsync(["--state-dir", _state], new HookEnvironment
        {
            Stdin = new MemoryStream(stdin),
            Stdout = stdout,
            Stderr = stderr,
            GetEnvironment = name => name == "HOME" ? "/home/ada" : null,
        });
        return (exit, stdout.ToString().Trim(), stderr.ToString().Trim());
    }

    public void Dispose()
    {
        Directory.Delete(_project, recursive: true);
        Directory.Delete(_state, recursive: true);
    }
}
