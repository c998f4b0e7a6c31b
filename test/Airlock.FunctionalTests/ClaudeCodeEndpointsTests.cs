using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.ClaudeCode.Events;
using Airlock.ClaudeCode.Hooks;
using Airlock.Core.Audit;
using Airlock.Core.Identity;
using Airlock.Testing;
using Xunit.Abstractions;

namespace Airlock.FunctionalTests;

/// <summary>The gateway's Claude Code endpoints on a real Kestrel: events into the trail, the hook policy, the key exchange.</summary>
public sealed class ClaudeCodeEndpointsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Events_land_in_the_trail_as_tool_events_of_their_session_once_each()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var events = new[]
        {
            Event("PostToolUse", e => e with { ToolName = "Read", FilePaths = ["/repo/src/app.cs"], DurationMs = 41 }),
            Event("PreToolUse", e => e with { ToolName = "Bash", Command = "cat .env", Decision = "deny", Reason = "Airlock: .env is a secret-bearing file" }),
            Event("UserPromptSubmit", e => e with { Decision = "block", Reason = "Airlock: the prompt contains a secret (private-key)", PromptLength = 120, RuleIds = ["private-key"], PolicyVersion = "p-0123456789abcdef" }),
            Event("PreToolUse", e => e with { ToolName = "Read", FilePaths = ["/repo/notes.txt"], Decision = "deny", Reason = "Airlock: notes.txt contains a secret (private-key)", RuleIds = ["private-key", "private-key"] }),
        };

        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var response = await harness.Client.SendAsync(EventsRequest(harness.DeveloperKey, events));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var trail = (await harness.SessionAuditAsync("session-7")).Where(r => r.Kind == AuditKind.ToolEvent).ToList();
        Assert.Equal(4, trail.Count);
        var read = Assert.Single(trail, r => r.Operation == "PostToolUse");
        Assert.Equal("Read", read.Tool!.ToolName);
        Assert.Equal(["/repo/src/app.cs"], read.Tool.FilePaths);
        Assert.Equal(41, read.Tool.DurationMs);
        Assert.Equal(GatewayHarness.DeveloperUser, read.User);
        Assert.Equal(GatewayHarness.DeveloperTeam, read.Team);
        Assert.Equal(harness.DeveloperKeyRecord.Id, read.KeyId);
        Assert.Equal("events", read.Door);
        var denied = Assert.Single(trail, r => r.Operation == "PreToolUse" && r.Tool!.ToolName == "Bash");
        Assert.Equal(ToolDecision.Deny, denied.Tool!.Decision);
        Assert.Equal("cat .env", denied.Tool.Command);
        Assert.Equal(AuditOutcome.Blocked, denied.Outcome);
        Assert.Equal("tool_denied", denied.ErrorType);
        Assert.Empty(denied.Findings);
        var prompt = Assert.Single(trail, r => r.Operation == "UserPromptSubmit");
        Assert.Equal("prompt_blocked", prompt.ErrorType);
        // The policy the hook decided with and how long the prompt was (never its text) are kept, and hashed (v3).
        Assert.Equal("policy_version=p-0123456789abcdef prompt_length=120", prompt.Detail);
        Assert.Null(read.Detail);
        var verification = await AuditChainVerifier.VerifyStoreAsync(harness.Gateway.Store, trustedKey: null);
        Assert.True(verification.Intact, verification.Fault?.ToString());
        // Rules that stopped something on the laptop are findings, so a query by rule finds them next to the gateway's.
        Assert.Equal(new AuditFinding("private-key", "secret", "prompt", "block", ""), Assert.Single(prompt.Findings));
        var scanned = Assert.Single(trail, r => r.Operation == "PreToolUse" && r.Tool!.ToolName == "Read");
        Assert.Equal(new AuditFinding("private-key", "secret", "file:/repo/notes.txt", "block", ""), Assert.Single(scanned.Findings));
        var byRule = await harness.Gateway.Store.QueryAsync(new AuditQuery { FindingRule = "private-key", Limit = 100 });
        Assert.Equal(2, byRule.Count(r => r.Kind == AuditKind.ToolEvent));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("{\"events\":{}}", "body must be")]
    [InlineData("{\"events\":[{\"id\":\"short\",\"time\":\"2026-11-24T00:00:00Z\",\"hook_event\":\"Stop\"}]}", "events[0]: id")]
    [InlineData("{\"events\":[{\"id\":\"evt-0000001\",\"hook_event\":\"Stop\"}]}", "events[0]: time")]
    [InlineData("{\"events\":[{\"id\":\"evt-0000001\",\"time\":\"2026-11-24T00:00:00Z\",\"hook_event\":\"Bad Event!\"}]}", "events[0]: hook_event")]
    public async Task Malformed_batches_get_a_400_that_names_the_problem_and_store_nothing(string body, string expected)
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        using var response = await harness.Client.SendAsync(Post(ClaudeCodePaths.Events, harness.DeveloperKey, body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("invalid_request_error", text, StringComparison.Ordinal);
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.Empty(await harness.SessionAuditAsync(null));
    }

    [Fact]
    public async Task Oversized_batches_get_a_413()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var many = Enumerable.Range(0, 1001).Select(i => Event("Stop", e => e with { Id = $"evt-{i:D8}" })).ToArray();
        using var response = await harness.Client.SendAsync(EventsRequest(harness.DeveloperKey, many));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Every_endpoint_refuses_missing_bad_and_auditor_keys()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var (auditorKey, _) = await harness.IssueKeyAsync("eve", KeyRole.Auditor);
        foreach (var path in (string[])[ClaudeCodePaths.Policy, ClaudeCodePaths.Events, ClaudeCodePaths.SessionKey])
        {
            var method = path == ClaudeCodePaths.Policy ? HttpMethod.Get : HttpMethod.Post;
            using var none = await harness.Client.SendAsync(new HttpRequestMessage(method, path));
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            using var bad = new HttpRequestMessage(method, path);
            bad.Headers.Add("x-api-key", "alk_notakey");
            Assert.Equal(HttpStatusCode.Unauthorized, (await harness.Client.SendAsync(bad)).StatusCode);
            using var auditor = new HttpRequestMessage(method, path);
            auditor.Headers.Add("x-api-key", auditorKey);
            Assert.Equal(HttpStatusCode.Forbidden, (await harness.Client.SendAsync(auditor)).StatusCode);
        }
    }

    [Fact]
    public async Task The_policy_holds_the_built_in_list_plus_the_organizations_additions()
    {
        var packPath = Path.Combine(Path.GetTempPath(), "airlock-org-rules-" + Guid.NewGuid().ToString("N") + ".toml");
        await File.WriteAllTextAsync(packPath, "[[rules]]\nid = \"acme-deploy-token\"\nregex = 'acme_dpl_[a-z0-9]{24}'\nkeywords = [\"acme_dpl_\"]\n");
        await using var harness = await GatewayHarness.StartAsync(output, config => config with
        {
            ClaudeCode = config.ClaudeCode with { DenyFiles = ["*.secret"], FailClosed = false },
            Inspection = config.Inspection with { RulePacks = [packPath] },
        });
        File.Delete(packPath);
        using var request = new HttpRequestMessage(HttpMethod.Get, ClaudeCodePaths.Policy);
        request.Headers.Add("Authorization", "Bearer " + harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var policy = HookPolicy.TryParse(await response.Content.ReadAsByteArrayAsync(), out _)!;
        Assert.Contains(".env", policy.DenyFiles);
        Assert.Contains("*.secret", policy.DenyFiles);
        // The organization's own rules travel with the policy, so the hook stops what the gateway would redact.
        var pack = Assert.Single(policy.RulePacks);
        Assert.Equal(Path.GetFileName(packPath), pack.Name);
        Assert.Contains("acme-deploy-token", pack.Toml, StringComparison.Ordinal);
        Assert.False(policy.FailClosed);
        Assert.False(string.IsNullOrEmpty(policy.RulesVersion));
    }

    [Fact]
    public async Task The_key_exchange_mints_a_short_lived_key_that_works_and_cannot_mint_more()
    {
        await using var harness = await GatewayHarness.StartAsync(output, config => config with
        {
            ClaudeCode = config.ClaudeCode with { SessionKeyLifetime = TimeSpan.FromHours(2) },
        });
        using var response = await harness.Client.SendAsync(Post(ClaudeCodePaths.SessionKey, harness.DeveloperKey, "{}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var key = json.RootElement.GetProperty("key").GetString()!;
        var expires = json.RootElement.GetProperty("expires_at").GetDateTimeOffset();
        Assert.StartsWith("alk_", key, StringComparison.Ordinal);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(115), TimeSpan.FromMinutes(121));

        var record = await harness.Gateway.Store.FindKeyAsync(json.RootElement.GetProperty("key_id").GetString()!);
        Assert.Equal(GatewayHarness.DeveloperUser, record!.User);
        Assert.Equal(KeyRole.Developer, record.Role);

        // It authenticates model calls ...
        harness.Upstream.DefaultReply = UpstreamReply.Text("ok");
        using var call = await harness.Client.SendAsync(GatewayHarness.Post("/v1/messages", Encoding.UTF8.GetBytes(
            """{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"""), key));
        Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        // ... but cannot be exchanged again (a stolen session key would otherwise never expire).
        using var chained = await harness.Client.SendAsync(Post(ClaudeCodePaths.SessionKey, key, "{}"));
        Assert.Equal(HttpStatusCode.Forbidden, chained.StatusCode);
        // The exchange itself is in the trail, without the key.
        var admin = Assert.Single(await harness.SessionAuditAsync(null), r => r.Kind == AuditKind.Admin);
        Assert.Equal("session_key", admin.Operation);
        Assert.DoesNotContain(key, JsonSerializer.Serialize(admin), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_key_never_outlives_the_key_it_came_from()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var (shortKey, _) = await harness.IssueKeyAsync("bob", KeyRole.Developer, TimeSpan.FromMinutes(30));
        using var response = await harness.Client.SendAsync(Post(ClaudeCodePaths.SessionKey, shortKey, "{}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(json.RootElement.GetProperty("expires_at").GetDateTimeOffset() <= DateTimeOffset.UtcNow.AddMinutes(30));
    }

    private static ToolEvent Event(string hookEvent, Func<ToolEvent, ToolEvent> change) => change(new ToolEvent
    {
        Id = Guid.NewGuid().ToString("N"),
        Time = DateTimeOffset.UtcNow,
        HookEvent = hookEvent,
        SessionId = "session-7",
        Cwd = "/repo",
    });

    private static HttpRequestMessage EventsRequest(string key, IEnumerable<ToolEvent> events) =>
        Post(ClaudeCodePaths.Events, key, Encoding.UTF8.GetString(ToolEvent.BatchJson(events.Select(e => new ReadOnlyMemory<byte>(e.ToJson())))));

    private static HttpRequestMessage Post(string path, string key, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", key);
        return request;
    }
}
