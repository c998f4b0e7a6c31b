using System.Net;
using System.Security.Cryptography;
using System.Text;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>Inspection inside the gateway: what the upstream receives, what the client sees, what the trail records.</summary>
public sealed class InspectionTests(ITestOutputHelper output)
{
    // Format-valid FAKE values, generated per test run.
    private static string FakeAwsKeyId() => "AKIA" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);

    private static string FakeStripeKey() => "sk_live_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32);

    [Fact]
    public async Task Identifiable_secret_is_redacted_in_place_and_every_other_byte_is_unchanged()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var keyId = FakeAwsKeyId();
        var body = $$$"""{"model":"claude-opus-5-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"deploy with {{{keyId}}} please \u00e9\n"}]}],"zeta_unknown_field":{"a":[1,2,3]}}""";

        using var response = await harness.Client.SendAsync(harness.Messages(body, "sess-redact"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();

        var received = Assert.Single(harness.Upstream.MessagesRequests).BodyText;
        Assert.DoesNotContain(keyId, received, StringComparison.Ordinal);
        var start = body.IndexOf(keyId, StringComparison.Ordinal);
        var placeholderEnd = received.IndexOf(']', start) + 1;
        var placeholder = received[start..placeholderEnd];
        Assert.Matches(@"^\[REDACTED:aws-access-key-id:[0-9a-f]{4}\]$", placeholder);
        // Splice, not re-serialization: prefix and suffix byte-identical (escapes and unknown fields included).
        Assert.Equal(body[..start], received[..start]);
        Assert.Equal(body[(start + keyId.Length)..], received[placeholderEnd..]);

        var record = await harness.SingleAuditAsync();
        var finding = Assert.Single(record.Findings, f => f.RuleId == "aws-access-key-id");
        Assert.Equal("redact", finding.Action);
        Assert.Equal("messages[0].content[0].text", finding.Location);
        Assert.Equal(64, finding.ValueHash.Length);
        await harness.AssertNotStoredAsync(keyId);
    }

    [Fact]
    public async Task Same_secret_gets_the_same_placeholder_on_every_turn()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var key = FakeStripeKey();
        string Turn(int n) => $$"""{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"STRIPE_KEY={{key}}"},{"role":"assistant","content":"ok {{n}}"},{"role":"user","content":"next"}]}""";
        for (var i = 0; i < 2; i++)
        {
            using var response = await harness.Client.SendAsync(harness.Messages(Turn(i)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var turns = harness.Upstream.MessagesRequests;
        Assert.Equal(2, turns.Count);
        var placeholders = turns.Select(t => System.Text.RegularExpressions.Regex.Match(t.BodyText, @"\[REDACTED:[a-z0-9-]+:[0-9a-f]{4}\]").Value).ToList();
        Assert.StartsWith("[REDACTED:stripe", placeholders[0], StringComparison.Ordinal);
        Assert.Equal(placeholders[0], placeholders[1]);
        Assert.All(turns, t => Assert.DoesNotContain(key, t.BodyText, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Secret_in_a_signed_thinking_block_blocks_the_request_without_reaching_the_upstream()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var keyId = FakeAwsKeyId();
        var body = $$"""{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"the key is {{keyId}}","signature":"c2lnbmF0dXJl"}]},{"role":"user","content":"go on"}]}""";

        using var response = await harness.Client.SendAsync(harness.Messages(body));
        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Contains("aws-access-key-id", message, StringComparison.Ordinal);
        Assert.Contains("messages[1].content[0].thinking", message, StringComparison.Ordinal);
        Assert.DoesNotContain(keyId, message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.MessagesRequests);

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Blocked, record.Outcome);
        Assert.Equal("blocked:aws-access-key-id", record.ErrorType);
        Assert.Contains(record.Findings, f => f.Action == "block");
    }

    [Fact]
    public async Task Configured_block_action_refuses_personal_data_for_one_team_only()
    {
        await using var harness = await GatewayHarness.StartAsync(output, config => config with
        {
            Inspection = config.Inspection with
            {
                Actions = [new ActionRuleConfig { Categories = ["personal-data"], Teams = [GatewayHarness.DeveloperTeam], Action = "block" }],
            },
        });
        var body = """{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"write to jane.doe@example-corp.com today"}]}""";
        using var blocked = await harness.Client.SendAsync(harness.Messages(body));
        await ErrorAssert.IsAnthropicErrorAsync(blocked, HttpStatusCode.BadRequest, "invalid_request_error");

        var (otherKey, _) = await harness.IssueKeyAsync("bob");
        using var passed = await harness.Client.SendAsync(GatewayHarness.Post("/v1/messages", Encoding.UTF8.GetBytes(body), otherKey));
        Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
        var records = await harness.AuditAsync(2);
        Assert.Equal(AuditOutcome.Blocked, records[0].Outcome);
        Assert.Equal(AuditOutcome.Ok, records[1].Outcome);
        Assert.Contains(records[1].Findings, f => f.RuleId == "pii-email" && f.Action == "alert");
    }

    [Fact]
    public async Task Secret_in_the_streamed_answer_is_recorded_and_with_output_block_ends_the_stream()
    {
        var keyId = FakeAwsKeyId();
        await using (var alert = await GatewayHarness.StartAsync(output))
        {
            alert.Upstream.DefaultReply = UpstreamReply.Text($"Use the key {keyId} for the deployment, then rotate it.");
            using var response = await alert.Client.SendAsync(alert.Messages(RequestBodies.Streaming()));
            var text = await response.Content.ReadAsStringAsync();
            Assert.Contains("message_stop", text, StringComparison.Ordinal);
            var record = await alert.SingleAuditAsync();
            var finding = Assert.Single(record.Findings, f => f.RuleId == "aws-access-key-id");
            Assert.StartsWith("response:content[0]", finding.Location, StringComparison.Ordinal);
            Assert.Equal("alert", finding.Action);
            Assert.Equal(AuditOutcome.Ok, record.Outcome);
        }

        await using var block = await GatewayHarness.StartAsync(output, config => config with
        {
            Inspection = config.Inspection with { OutputAction = "block" },
        });
        block.Upstream.DefaultReply = UpstreamReply.Text($"Use the key {keyId} for the deployment, then rotate it. " + new string('x', 600));
        using var blocked = await block.Client.SendAsync(block.Messages(RequestBodies.Streaming()));
        var stream = await blocked.Content.ReadAsStringAsync();
        Assert.Contains("event: error", stream, StringComparison.Ordinal);
        Assert.Contains("aws-access-key-id", stream, StringComparison.Ordinal);
        Assert.DoesNotContain("message_stop", stream, StringComparison.Ordinal);
        var blockedRecord = await block.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Blocked, blockedRecord.Outcome);
        Assert.Equal("output_blocked:aws-access-key-id", blockedRecord.ErrorType);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_request_too_big_to_inspect_completely_follows_on_error(bool failClosed)
    {
        await using var harness = await GatewayHarness.StartAsync(output, config => config with
        {
            Inspection = config.Inspection with { FailClosed = failClosed },
        });
        // More strings than the inspector's limit (200,000) inside one tool input.
        var strings = string.Join(",", Enumerable.Repeat("\"a\"", 200_001));
        var body = $$$"""{"model":"m","max_tokens":8,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"X","input":{"list":[{{{strings}}}]}}]}]}""";

        using var response = await harness.Client.SendAsync(harness.Messages(body));
        var record = await harness.SingleAuditAsync();
        if (failClosed)
        {
            await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
            Assert.Empty(harness.Upstream.MessagesRequests);
            Assert.Equal(AuditOutcome.Rejected, record.Outcome);
            Assert.Equal("inspection_incomplete", record.ErrorType);
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(body, Assert.Single(harness.Upstream.MessagesRequests).BodyText);
            Assert.Equal(AuditOutcome.Ok, record.Outcome);
            Assert.Equal("inspection_incomplete_passed", record.ErrorType);
        }
    }

    [Fact]
    public async Task Inspection_disabled_forwards_secrets_unchanged()
    {
        await using var harness = await GatewayHarness.StartAsync(output, config => config with
        {
            Inspection = config.Inspection with { Enabled = false },
        });
        var keyId = FakeAwsKeyId();
        var body = $$"""{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"{{keyId}}"}]}""";
        using var response = await harness.Client.SendAsync(harness.Messages(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, Assert.Single(harness.Upstream.MessagesRequests).BodyText);
        Assert.Empty((await harness.SingleAuditAsync()).Findings);
    }

    [Fact]
    public async Task A_broken_organization_rule_pack_stops_startup_naming_the_rule()
    {
        var pack = Path.Combine(Path.GetTempPath(), $"airlock-broken-{Guid.NewGuid():N}.toml");
        await File.WriteAllTextAsync(pack, """
            [[rules]]
            id = "contoso-bad"
            regex = '''(unclosed'''
            keywords = ["contoso"]
            """);
        try
        {
            var error = await Assert.ThrowsAsync<ConfigurationException>(() => GatewayHarness.StartAsync(output, config => config with
            {
                Inspection = config.Inspection with { RulePacks = [pack] },
            }));
            output.WriteLine(error.Message);
            Assert.Contains(error.Errors, e => e.Contains("contoso-bad", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(pack);
        }
    }
}
