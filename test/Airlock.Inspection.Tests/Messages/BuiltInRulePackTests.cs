using System.Text;
using System.Text.Json;
using Airlock.Inspection.Files;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;
using Airlock.Inspection.Streaming;
using Airlock.Inspection.Tests.Messages.Fakes;

namespace Airlock.Inspection.Tests.Messages;

/// <summary>The request, stream and file paths driven by the real built-in secret rules, not a test double.</summary>
public class BuiltInRulePackTests
{
    private static readonly FindingHasher Hasher = FakeSecrets.Hasher();
    private static readonly Lazy<ITextScanner> Scanner = new(() => new SecretScanner(RulePack.LoadBuiltIn()));

    [Fact]
    public void A_secret_used_as_a_key_inside_tool_input_never_appears_in_a_location()
    {
        var random = new Random(7);
        string keyAsName = FakeGitHubTokens.CreateAwsKeyId(random);
        string value = FakeGitHubTokens.CreateAwsKeyId(random);
        string json =
            "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Bash\"," +
            "\"input\":{\"command\":\"ls\",\"" + keyAsName + "\":{\"value\":\"" + value + "\"}}}]}]}";
        var inspector = new MessagesRequestInspector(Scanner.Value, Hasher);

        var result = inspector.Inspect(Encoding.UTF8.GetBytes(json), null, InspectionPolicy.Default);

        var findings = result.Findings.Where(f => f.RuleId == "aws-access-key-id").ToList();
        Assert.Equal(["messages[0].content[0].input.<key>", "messages[0].content[0].input[*].value"], findings.Select(f => f.Location));
        Assert.All(findings, f => Assert.DoesNotContain(keyAsName, f.Location, StringComparison.Ordinal));
    }

    [Fact]
    public void A_secret_used_as_a_key_inside_tool_input_is_redacted_in_the_key_string_and_every_other_byte_is_kept()
    {
        // The key is a JSON string like a value: the placeholder is spliced into it, so the object keeps its shape
        // (same members, same order) and the next turn, which resends the same key, gets the same placeholder.
        var random = new Random(8);
        string keyAsName = FakeGitHubTokens.CreateAwsKeyId(random);
        string json =
            "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"mcp__vault__put\"," +
            "\"input\":{\"entries\":{\"prod " + keyAsName + "\":\"staging\",\"plain\":\"x\"}}}]}]}";
        var inspector = new MessagesRequestInspector(Scanner.Value, Hasher);

        var result = inspector.Inspect(Encoding.UTF8.GetBytes(json), null, InspectionPolicy.Default);
        var again = inspector.Inspect(Encoding.UTF8.GetBytes(json), null, InspectionPolicy.Default);

        var finding = Assert.Single(result.Findings);
        Assert.Equal(("aws-access-key-id", "messages[0].content[0].input.entries.<key>", InspectionAction.Redact), (finding.RuleId, finding.Location, finding.Action));
        string expected = json.Replace(keyAsName, $"[REDACTED:aws-access-key-id:{Hasher.ShortHash(keyAsName)}]", StringComparison.Ordinal);
        Assert.Equal(expected, Encoding.UTF8.GetString(result.Body.Span));
        Assert.Equal(expected, Encoding.UTF8.GetString(again.Body.Span));
        using var document = JsonDocument.Parse(result.Body);
        var entries = document.RootElement.GetProperty("messages")[0].GetProperty("content")[0].GetProperty("input").GetProperty("entries");
        Assert.Equal(2, entries.EnumerateObject().Count());
    }

    [Fact]
    public void A_secret_used_as_a_key_blocks_under_a_block_policy_without_naming_it()
    {
        var random = new Random(9);
        string keyAsName = FakeGitHubTokens.CreateAwsKeyId(random);
        string json =
            "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"X\"," +
            "\"input\":{\"" + keyAsName + "\":1}}]}]}";
        var policy = InspectionPolicy.Create(new InspectionPolicyOptions { Rules = [new ActionRule { RuleIds = ["aws-*"], Action = "block" }] });
        var inspector = new MessagesRequestInspector(Scanner.Value, Hasher);

        var result = inspector.Inspect(Encoding.UTF8.GetBytes(json), null, policy);

        Assert.True(result.Blocked);
        Assert.Equal("request blocked: rule aws-access-key-id at messages[0].content[0].input.<key>", result.BlockReason);
    }

    [Fact]
    public void Identifiable_tokens_in_tool_results_and_inputs_are_redacted_in_place()
    {
        var random = new Random(100);
        string github = FakeGitHubTokens.Create(random);
        string aws = FakeGitHubTokens.CreateAwsKeyId(random);
        string json =
            "{\"model\":\"claude-opus-5-5\",\"messages\":[" +
            "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Bash\",\"input\":{\"command\":\"aws configure set aws_access_key_id " + aws + "\"}}]}," +
            "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":\"1\\tGITHUB_TOKEN=" + github + "\\n2\\tPORT=8080\\n\"}]}" +
            "],\"stream\":true}";
        var inspector = new MessagesRequestInspector(Scanner.Value, Hasher);

        var result = inspector.Inspect(Encoding.UTF8.GetBytes(json), null, InspectionPolicy.Default);

        string output = Encoding.UTF8.GetString(result.Body.Span);
        var byRule = result.Findings.ToDictionary(f => f.RuleId);
        Assert.Equal("messages[0].content[0].input.command", byRule["aws-access-key-id"].Location);
        Assert.Equal("messages[1].content[0].content", byRule["github-pat"].Location);
        Assert.All(result.Findings, f => Assert.Equal(InspectionAction.Redact, f.Action));
        string expected = json
            .Replace(aws, $"[REDACTED:aws-access-key-id:{Hasher.ShortHash(aws)}]", StringComparison.Ordinal)
            .Replace(github, $"[REDACTED:github-pat:{Hasher.ShortHash(github)}]", StringComparison.Ordinal);
        Assert.Equal(expected, output);
        using (JsonDocument.Parse(result.Body))
        {
        }
    }

    [Fact]
    public void A_realistic_body_without_secrets_has_no_secret_findings()
    {
        var (body, _) = ClaudeCodeBodyBuilder.Build(seed: 3, turns: 4);
        var inspector = new MessagesRequestInspector(Scanner.Value, Hasher);

        var result = inspector.Inspect(body, null, InspectionPolicy.Default);

        Assert.Empty(result.Findings.Select(f => $"{f.RuleId} at {f.Location}"));
        Assert.False(result.Modified);
    }

    [Fact]
    public void A_github_token_split_across_deltas_is_found_once_in_the_stream()
    {
        string token = FakeGitHubTokens.Create(new Random(101));
        var inspector = new StreamingOutputInspector(Scanner.Value, Hasher, InspectionPolicy.Default, null);
        string text = "Use this in CI:\nexport GITHUB_TOKEN=" + token + "\nthen run the workflow.";
        int cut1 = text.IndexOf(token, StringComparison.Ordinal) + 3;
        int cut2 = cut1 + 20;

        var found = new List<Finding>();
        found.AddRange(inspector.Inspect("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""u8).NewFindings);
        foreach (var piece in new[] { text[..cut1], text[cut1..cut2], text[cut2..] })
        {
            string delta = "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":" + JsonSerializer.Serialize(piece) + "}}";
            found.AddRange(inspector.Inspect("content_block_delta", Encoding.UTF8.GetBytes(delta)).NewFindings);
        }

        found.AddRange(inspector.Inspect("content_block_stop", """{"type":"content_block_stop","index":0}"""u8).NewFindings);

        var finding = Assert.Single(found, f => f.RuleId == "github-pat");
        Assert.Equal("content[0].text", finding.Location);
        Assert.Equal(text.IndexOf(token, StringComparison.Ordinal), finding.Start);
        Assert.Equal(Hasher.Hash(token), finding.ValueHash);
    }

    [Fact]
    public void File_scan_reports_the_line_and_column_of_a_real_rule_match()
    {
        string root = Path.Combine(Path.GetTempPath(), "airlock-real-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            string token = FakeGitHubTokens.Create(new Random(102));
            File.WriteAllText(Path.Combine(root, ".env"), "# ci\nGITHUB_TOKEN=" + token + "\n");

            var report = FileTreeScanner.Scan([root], new FileScanOptions { Scanner = Scanner.Value, Hasher = Hasher });

            var finding = Assert.Single(report.Findings, f => f.RuleId == "github-pat");
            Assert.Equal((2, 14), (finding.Line, finding.Column));
            Assert.Equal(InspectionAction.Redact, finding.Action);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
