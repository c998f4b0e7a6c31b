using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Airlock.ClaudeCode.Events;
using Airlock.ClaudeCode.Hooks;
using Airlock.ClaudeCode.SecretFiles;
using Airlock.ClaudeCode.Settings;
using Airlock.Core.Audit;
using Airlock.Testing;
using Xunit.Abstractions;

namespace Airlock.EndToEndTests.ClaudeCode;

/// <summary>
/// The real Claude Code CLI with the settings <c>airlock claude-code setup</c> generates (passed with
/// <c>--settings</c>, HOME a temporary folder), the NativeAOT <c>airlock-hook</c>, the apiKeyHelper key exchange,
/// and a real gateway in front of the scripted upstream that asks for tool calls.
/// </summary>
public sealed class ClaudeCodeControlsTests(ITestOutputHelper output)
{
    [ClaudeCodeFact]
    public async Task Read_of_a_dotenv_is_denied_by_the_generated_rule_and_the_model_call_uses_a_short_lived_key()
    {
        await using var run = await ControlledRun.StartAsync(output);
        var marker = Marker();
        var envPath = Path.Combine(run.Project, ".env");
        await File.WriteAllTextAsync(envPath, $"DB_PASSWORD={marker}\n");
        run.Harness.Upstream.RespondWithToolRoundTrip("Read", new { file_path = envPath }, "Could not read it.");

        var result = await run.ClaudeAsync("Read .env");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Could not read it.", result.ResultText);
        var turns = run.Harness.Upstream.MessagesRequests;
        Assert.Equal(2, turns.Count);
        var toolResult = Assert.Single(turns[1].LastMessageToolResults());
        Assert.True(toolResult.IsError, toolResult.Content);
        Assert.DoesNotContain(marker, turns[1].BodyText, StringComparison.Ordinal);
        // The permission rule stops the call before any hook runs: Claude Code's own refusal, not Airlock's.
        Assert.Contains("permission", toolResult.Content, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Airlock:", toolResult.Content, StringComparison.Ordinal);

        // The model calls authenticated with a key the gateway minted for apiKeyHelper, not the long-lived one.
        var sessionId = turns[0].Header("x-claude-code-session-id");
        var calls = (await run.Harness.SessionAuditAsync(sessionId)).Where(r => r.Kind == AuditKind.Request).ToList();
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c =>
        {
            Assert.Equal(GatewayHarness.DeveloperUser, c.User);
            Assert.NotEqual(run.Harness.DeveloperKeyRecord.Id, c.KeyId);
        });
        await run.Harness.AssertNotStoredAsync(marker);
    }

    [ClaudeCodeFact]
    public async Task Read_of_an_innocently_named_file_holding_a_private_key_is_denied_by_the_hook()
    {
        await using var run = await ControlledRun.StartAsync(output);
        using var rsa = RSA.Create(2048);
        var pem = rsa.ExportRSAPrivateKeyPem();
        var body = pem.Split('\n')[1];
        var notesPath = Path.Combine(run.Project, "notes.txt");
        await File.WriteAllTextAsync(notesPath, "deployment notes\n" + pem + "\n");
        run.Harness.Upstream.RespondWithToolRoundTrip("Read", new { file_path = notesPath }, "Understood.");

        var result = await run.ClaudeAsync("Read notes.txt");

        Assert.Equal(0, result.ExitCode);
        var turns = run.Harness.Upstream.MessagesRequests;
        Assert.Equal(2, turns.Count);
        var toolResult = Assert.Single(turns[1].LastMessageToolResults());
        Assert.True(toolResult.IsError, toolResult.Content);
        Assert.Contains("Airlock:", toolResult.Content, StringComparison.Ordinal);
        Assert.Contains("private-key", toolResult.Content, StringComparison.Ordinal);
        Assert.DoesNotContain(body, turns[1].BodyText, StringComparison.Ordinal);

        var sessionId = turns[0].Header("x-claude-code-session-id");
        var denial = await run.WaitForToolEventAsync(sessionId, e => e.Tool!.HookEvent == "PreToolUse" && e.Tool.Decision == ToolDecision.Deny);
        Assert.Equal("Read", denial.Tool!.ToolName);
        Assert.Contains(notesPath, denial.Tool.FilePaths);
        Assert.Equal(AuditOutcome.Blocked, denial.Outcome);
        await run.Harness.AssertNotStoredAsync(body[..40]);
    }

    [ClaudeCodeFact]
    public async Task Cat_of_a_dotenv_through_bash_is_denied_even_when_bash_is_allowed()
    {
        await using var run = await ControlledRun.StartAsync(output);
        var marker = Marker();
        await File.WriteAllTextAsync(Path.Combine(run.Project, ".env"), $"API_TOKEN={marker}\n");
        run.Harness.Upstream.RespondWithToolRoundTrip("Bash", new { command = "cat .env", description = "Show the environment file" }, "No luck.");

        var result = await run.ClaudeAsync("Show me .env", allowedTools: ["Bash"]);

        Assert.Equal(0, result.ExitCode);
        var turns = run.Harness.Upstream.MessagesRequests;
        Assert.Equal(2, turns.Count);
        var toolResult = Assert.Single(turns[1].LastMessageToolResults());
        Assert.True(toolResult.IsError, toolResult.Content);
        Assert.DoesNotContain(marker, turns[1].BodyText, StringComparison.Ordinal);
        await run.Harness.AssertNotStoredAsync(marker);
    }

    [ClaudeCodeFact]
    public async Task A_prompt_holding_a_secret_is_blocked_before_any_request_reaches_the_gateway()
    {
        await using var run = await ControlledRun.StartAsync(output);
        run.Harness.Upstream.DefaultReply = UpstreamReply.Text("should never be asked");
        using var rsa = RSA.Create(2048);
        var pem = rsa.ExportRSAPrivateKeyPem();

        var result = await run.ClaudeAsync("Deploy with this key please:\n" + pem);

        Assert.Empty(run.Harness.Upstream.MessagesRequests);
        var records = await run.Harness.AuditAsync(1);
        Assert.DoesNotContain(records, r => r.Kind == AuditKind.Request);
        var blocked = await run.WaitForToolEventAsync(null, e => e.Tool!.HookEvent == "UserPromptSubmit" && e.Tool.Decision == ToolDecision.Deny);
        Assert.Contains("private-key", blocked.Tool!.DecisionReason, StringComparison.Ordinal);
        Assert.Equal("prompt_blocked", blocked.ErrorType);
        await run.Harness.AssertNotStoredAsync(pem.Split('\n')[1][..40]);
        output.WriteLine(result.Describe());
    }

    [ClaudeCodeFact]
    public async Task Tool_events_and_model_calls_of_a_session_are_one_timeline_in_the_audit_trail()
    {
        await using var run = await ControlledRun.StartAsync(output);
        var readme = Path.Combine(run.Project, "README.md");
        await File.WriteAllTextAsync(readme, "# Orders service\nNothing secret here.\n");
        run.Harness.Upstream.RespondWithToolRoundTrip("Read", new { file_path = readme }, "It is the orders service.");

        var result = await run.ClaudeAsync("What is this project?");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("It is the orders service.", result.ResultText);
        var sessionId = run.Harness.Upstream.MessagesRequests[0].Header("x-claude-code-session-id");
        Assert.NotNull(sessionId);
        await run.WaitForToolEventAsync(sessionId, e => e.Tool!.HookEvent == "Stop");
        var timeline = await run.Harness.SessionAuditAsync(sessionId);
        foreach (var record in timeline)
        {
            output.WriteLine($"{record.Time:HH:mm:ss.fff} {record.Kind} {record.Operation} {record.Tool?.ToolName} {string.Join(",", record.Tool?.FilePaths ?? [])}");
        }
        Assert.Equal(2, timeline.Count(r => r.Kind == AuditKind.Request));
        Assert.Contains(timeline, r => r.Kind == AuditKind.ToolEvent && r.Tool!.HookEvent == "SessionStart");
        Assert.Contains(timeline, r => r.Kind == AuditKind.ToolEvent && r.Tool!.HookEvent == "UserPromptSubmit");
        var read = Assert.Single(timeline, r => r.Kind == AuditKind.ToolEvent && r.Tool!.HookEvent == "PostToolUse");
        Assert.Equal("Read", read.Tool!.ToolName);
        Assert.Contains(readme, read.Tool.FilePaths);
        Assert.All(timeline, r => Assert.Equal(GatewayHarness.DeveloperUser, r.User));
        // One timeline: the tool call sits between the model turn that asked for it and the one that got its result.
        var firstCall = timeline.First(r => r.Kind == AuditKind.Request);
        var lastCall = timeline.Last(r => r.Kind == AuditKind.Request);
        Assert.InRange(read.Time, firstCall.Time, lastCall.Time);
        await run.Harness.AssertNotStoredAsync("Nothing secret here.");
    }

    [ClaudeCodeFact]
    public async Task With_the_gateway_unreachable_events_are_queued_without_stalling_and_delivered_once_it_is_back()
    {
        await using var run = await ControlledRun.StartAsync(output);
        var readme = Path.Combine(run.Project, "README.md");
        await File.WriteAllTextAsync(run.Project + "/README.md", "# Billing\n");
        run.Harness.Upstream.RespondWithToolRoundTrip("Read", new { file_path = readme }, "Billing.");

        // The hooks' gateway is stopped (nothing listens on its port); model traffic still flows.
        var stoppedGateway = $"http://127.0.0.1:{FreePort()}";
        var offline = await run.ClaudeAsync("What is this?", hookGateway: stoppedGateway);
        Assert.Equal(0, offline.ExitCode);
        Assert.Equal("Billing.", offline.ResultText);
        var sessionId = run.Harness.Upstream.MessagesRequests[0].Header("x-claude-code-session-id");
        var queued = new EventSpool(run.State.QueueDirectory).Count;
        output.WriteLine($"queued while offline: {queued}");
        Assert.True(queued >= 3, $"expected SessionStart, UserPromptSubmit, PostToolUse and Stop in the queue, found {queued}");
        Assert.DoesNotContain(await run.Harness.SessionAuditAsync(sessionId), r => r.Kind == AuditKind.ToolEvent);

        // Back online: the next session's first hook call delivers the backlog before its own event.
        run.Harness.Upstream.Responder = UpstreamScripts.Always(UpstreamReply.Text("Hello again."));
        var online = await run.ClaudeAsync("hi");
        Assert.Equal(0, online.ExitCode);
        var delivered = await run.WaitForToolEventAsync(sessionId, e => e.Tool!.HookEvent == "PostToolUse");
        Assert.Equal("Read", delivered.Tool!.ToolName);
        var offlineEvents = (await run.Harness.SessionAuditAsync(sessionId)).Where(r => r.Kind == AuditKind.ToolEvent).ToList();
        Assert.True(offlineEvents.Count >= queued, $"{offlineEvents.Count} of {queued} queued events arrived");
        // Each event once, even though several hook processes flushed the same queue.
        Assert.Equal(offlineEvents.Count, offlineEvents.Select(e => e.Tool!.EventId).Distinct().Count());
        // The last hooks' detached senders may still be delivering the online session's own events: wait on the queue.
        var drained = Stopwatch.StartNew();
        while (new EventSpool(run.State.QueueDirectory).Count > 0 && drained.Elapsed < TimeSpan.FromSeconds(90))
        {
            await Task.Delay(100);
        }
        Assert.Equal(0, new EventSpool(run.State.QueueDirectory).Count);
    }

    private static string Marker() => "marker" + RandomNumberGenerator.GetHexString(24, lowercase: true);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>One gateway, one project folder, one HOME with the developer logged in, and the generated settings.</summary>
    private sealed class ControlledRun : IAsyncDisposable
    {
        private readonly ITestOutputHelper _output;
        private readonly string _hook;

        private ControlledRun(ITestOutputHelper output, GatewayHarness harness, string hook, string project, string home)
        {
            _output = output;
            Harness = harness;
            _hook = hook;
            Project = project;
            Home = home;
            State = new HookState(Path.Combine(home, ".airlock"));
        }

        public GatewayHarness Harness { get; }

        public string Project { get; }

        public string Home { get; }

        public HookState State { get; }

        public static async Task<ControlledRun> StartAsync(ITestOutputHelper output)
        {
            var hook = await HookBinary.GetAsync();
            var harness = await GatewayHarness.StartAsync(output);
            var project = Directory.CreateTempSubdirectory("airlock-cc-project-").FullName;
            var home = Directory.CreateTempSubdirectory("airlock-cc-home-").FullName;
            var run = new ControlledRun(output, harness, hook, project, home);
            // What `airlock-hook login` stores: the developer's long-lived key, for apiKeyHelper and the event endpoint.
            run.State.WriteCredential(new HookCredential(harness.BaseUrl, harness.DeveloperKey));
            return run;
        }

        public async Task<ClaudeCodeResult> ClaudeAsync(string prompt, IReadOnlyList<string>? allowedTools = null, string? hookGateway = null)
        {
            var settings = ManagedSettingsBuilder.Build(new ManagedSettingsOptions
            {
                Gateway = new Uri(Harness.BaseUrl),
                HookCommand = _hook,
                DenyFiles = SecretFileList.BuiltIn,
            }).Combined();
            if (hookGateway is not null)
            {
                foreach (var (_, entries) in settings["hooks"]!.AsObject())
                {
                    var hook = entries![0]!["hooks"]![0]!.AsObject();
                    hook["command"] = hook["command"]!.GetValue<string>().Replace(Harness.BaseUrl, hookGateway, StringComparison.Ordinal);
                }
            }
            var settingsPath = Path.Combine(Home, $"settings-{Guid.NewGuid():N}.json");
            await File.WriteAllTextAsync(settingsPath, ManagedSettings.ToText(settings));
            var started = Stopwatch.GetTimestamp();
            var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
            {
                Prompt = prompt,
                BaseUrl = Harness.BaseUrl,
                Settings = settingsPath,
                WorkingDirectory = Project,
                Home = Home,
                AllowedTools = allowedTools ?? [],
                Timeout = TimeSpan.FromSeconds(120),
            });
            _output.WriteLine($"claude ({Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s): {result.Describe()}");
            return result;
        }

        /// <summary>Waits for a tool event (hooks of the last run may still be reporting as the CLI exits).</summary>
        public async Task<AuditRecord> WaitForToolEventAsync(string? sessionId, Func<AuditRecord, bool> match)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (true)
            {
                var records = await Harness.SessionAuditAsync(sessionId);
                if (records.FirstOrDefault(r => r.Kind == AuditKind.ToolEvent && match(r)) is { } found)
                {
                    return found;
                }
                if (DateTime.UtcNow > deadline)
                {
                    var seen = string.Join("; ", records.Select(r => $"{r.Kind}/{r.Operation}/{r.Tool?.Decision}"));
                    throw new Xunit.Sdk.XunitException($"no matching tool event; trail has: {seen}");
                }
                await Task.Delay(100);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Harness.DisposeAsync();
            TryDelete(Project);
            TryDelete(Home);
        }

        private static void TryDelete(string path)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}
