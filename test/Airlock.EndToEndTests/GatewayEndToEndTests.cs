using System.Security.Cryptography;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Testing;
using Xunit.Abstractions;

namespace Airlock.EndToEndTests;

/// <summary>
/// The real Claude Code CLI pointed at a real Airlock gateway in front of the scripted upstream:
/// what the developer experiences, what the provider receives, and what the audit trail holds.
/// </summary>
public sealed class GatewayEndToEndTests(ITestOutputHelper output)
{
    [ClaudeCodeFact]
    public async Task Plain_answer_passes_the_body_through_unchanged_and_is_audited()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Upstream.DefaultReply = UpstreamReply.Text("Answer relayed by Airlock.", inputTokens: 1234, outputTokens: 56);

        var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
        {
            Prompt = "say hi",
            BaseUrl = harness.BaseUrl,
            ApiKey = harness.DeveloperKey,
        });
        output.WriteLine(result.Describe());

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Answer relayed by Airlock.", result.ResultText);
        var turn = Assert.Single(harness.Upstream.MessagesRequests);

        // The provider sees the gateway's credential, never the developer's key, and Claude Code's headers verbatim.
        Assert.Equal(harness.Upstream.ApiKey, turn.Header("x-api-key"));
        Assert.DoesNotContain(turn.HeaderLines, h => h.Value.Contains(harness.DeveloperKey, StringComparison.Ordinal));
        Assert.Equal("2023-06-01", turn.Header("anthropic-version"));
        Assert.Contains("claude-code-20250219", turn.Header("anthropic-beta"), StringComparison.Ordinal);
        Assert.Equal("?beta=true", turn.QueryString);
        var sessionId = turn.Header("x-claude-code-session-id");
        Assert.NotNull(sessionId);

        // Byte for byte: the hash of what the upstream received equals the hash of what the gateway received.
        var record = Assert.Single(await harness.SessionAuditAsync(sessionId));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(turn.Body.Span)), record.BodySha256);
        Assert.Equal(turn.Body.Length, record.RequestBytes);

        Assert.Equal(GatewayHarness.DeveloperUser, record.User);
        Assert.Equal(GatewayHarness.DeveloperTeam, record.Team);
        Assert.Equal(sessionId, record.SessionId);
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal(200, record.Status);
        Assert.Equal("main", record.Upstream);
        Assert.Equal(turn.Model, record.Model);
        Assert.Equal(1234, record.InputTokens);
        Assert.Equal(56, record.OutputTokens);
        Assert.NotNull(record.TimeToFirstByteMs);
        Assert.StartsWith("claude-cli/", record.UserAgent, StringComparison.Ordinal);
    }

    [ClaudeCodeFact]
    public async Task Tool_round_trip_through_the_gateway_carries_the_tool_result_and_both_turns_are_audited()
    {
        var project = Directory.CreateTempSubdirectory("airlock-e2e-project-").FullName;
        try
        {
            var marker = $"marker-{Guid.NewGuid():N}";
            var filePath = Path.Combine(project, "notes.txt");
            await File.WriteAllTextAsync(filePath, $"Release notes\n{marker}\n");
            await using var harness = await GatewayHarness.StartAsync(output);
            harness.Upstream.RespondWithToolRoundTrip("Read", new { file_path = filePath }, "Read the notes.");

            var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
            {
                Prompt = "Read notes.txt",
                BaseUrl = harness.BaseUrl,
                AuthToken = harness.DeveloperKey, // ANTHROPIC_AUTH_TOKEN → Authorization: Bearer
                WorkingDirectory = project,
            });
            output.WriteLine(result.Describe());

            Assert.Equal(0, result.ExitCode);
            Assert.Equal("Read the notes.", result.ResultText);
            var turns = harness.Upstream.MessagesRequests;
            Assert.Equal(2, turns.Count);
            var toolResult = Assert.Single(turns[1].LastMessageToolResults());
            Assert.Contains(marker, toolResult.Content, StringComparison.Ordinal);
            Assert.Null(turns[1].Header("authorization"));

            var sessionId = turns[0].Header("x-claude-code-session-id");
            var records = await harness.SessionAuditAsync(sessionId);
            Assert.Equal(2, records.Count);
            Assert.All(records, r =>
            {
                Assert.Equal(GatewayHarness.DeveloperUser, r.User);
                Assert.Equal(AuditOutcome.Ok, r.Outcome);
                Assert.NotNull(r.InputTokens);
                Assert.NotNull(r.OutputTokens);
            });
            for (var i = 0; i < 2; i++)
            {
                Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(turns[i].Body.Span)), records[i].BodySha256);
            }
        }
        finally
        {
            Directory.Delete(project, recursive: true);
        }
    }

    [ClaudeCodeFact]
    public async Task Secrets_read_from_a_dotenv_reach_the_upstream_as_stable_placeholders_across_turns()
    {
        var project = Directory.CreateTempSubdirectory("airlock-e2e-project-").FullName;
        var home = Directory.CreateTempSubdirectory("airlock-e2e-home-").FullName;
        try
        {
            // A format-valid FAKE AWS key pair, made up for this test.
            var keyId = "AKIA" + RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
            var secret = RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
            var envPath = Path.Combine(project, ".env");
            await File.WriteAllTextAsync(envPath, $"APP_NAME=demo\nAWS_ACCESS_KEY_ID={keyId}\nAWS_SECRET_ACCESS_KEY={secret}\n");

            await using var harness = await GatewayHarness.StartAsync(output);
            harness.Upstream.RespondWithToolRoundTrip("Read", new { file_path = envPath }, "I looked at the configuration.");

            var first = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
            {
                Prompt = "Read .env and tell me what it configures.",
                BaseUrl = harness.BaseUrl,
                ApiKey = harness.DeveloperKey,
                WorkingDirectory = project,
                Home = home,
            });
            output.WriteLine(first.Describe());
            Assert.Equal(0, first.ExitCode);
            Assert.Equal("I looked at the configuration.", first.ResultText);

            var turns = harness.Upstream.MessagesRequests;
            Assert.Equal(2, turns.Count);
            var withFile = turns[1].BodyText;
            Assert.DoesNotContain(keyId, withFile, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, withFile, StringComparison.Ordinal);
            var placeholders = Placeholders(withFile);
            output.WriteLine("placeholders: " + string.Join(", ", placeholders));
            Assert.Contains(placeholders, p => p.StartsWith("[REDACTED:aws-access-key-id:", StringComparison.Ordinal));
            Assert.Contains(placeholders, p => p.StartsWith("[REDACTED:aws-secret-access-key:", StringComparison.Ordinal));
            // The rest of the file still reached the model.
            Assert.Contains("APP_NAME=demo", withFile, StringComparison.Ordinal);
            // Still valid JSON after the splice.
            using (turns[1].ParseBody())
            {
            }

            // The session goes on: a new turn resends the history (from Claude Code's local transcript, which
            // holds the real values); the gateway must produce the very same placeholders again.
            harness.Upstream.Responder = UpstreamScripts.Always(UpstreamReply.Text("Still here."));
            var second = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
            {
                Prompt = "Thanks. Anything else?",
                BaseUrl = harness.BaseUrl,
                ApiKey = harness.DeveloperKey,
                WorkingDirectory = project,
                Home = home,
                ExtraArguments = ["--resume", first.SessionId!],
            });
            output.WriteLine(second.Describe());
            Assert.Equal(0, second.ExitCode);
            Assert.Equal("Still here.", second.ResultText);
            var third = harness.Upstream.MessagesRequests[^1].BodyText;
            Assert.DoesNotContain(keyId, third, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, third, StringComparison.Ordinal);
            Assert.Superset(placeholders.ToHashSet(), Placeholders(third).ToHashSet());
            Assert.Subset(Placeholders(third).ToHashSet(), placeholders.ToHashSet());

            // The audit trail names rule, location and a keyed hash, and never holds the values.
            var records = await harness.SessionAuditAsync(null);
            var findings = records.SelectMany(r => r.Findings).ToList();
            Assert.Contains(findings, f => f.RuleId == "aws-access-key-id" && f.Action == "redact" && f.Location.Contains("content", StringComparison.Ordinal));
            Assert.Contains(findings, f => f.RuleId == "aws-secret-access-key" && f.Action == "redact");
            var serialized = JsonSerializer.Serialize(records);
            Assert.DoesNotContain(keyId, serialized, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, serialized, StringComparison.Ordinal);
            // Same value, same keyed hash, on every turn.
            Assert.Single(findings.Where(f => f.RuleId == "aws-access-key-id").Select(f => f.ValueHash).Distinct());
        }
        finally
        {
            Directory.Delete(project, recursive: true);
            Directory.Delete(home, recursive: true);
        }
    }

    private static List<string> Placeholders(string body) =>
        System.Text.RegularExpressions.Regex.Matches(body, @"\[REDACTED:[a-z0-9-]+:[0-9a-f]{4}\]").Select(m => m.Value).Distinct().ToList();

    private static string RandomString(string alphabet, int length) => RandomNumberGenerator.GetString(alphabet, length);
}
