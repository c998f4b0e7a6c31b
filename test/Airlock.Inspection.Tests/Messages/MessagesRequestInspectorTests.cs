using System.Text;
using System.Text.Json;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;
using Airlock.Inspection.Tests.Messages.Fakes;

namespace Airlock.Inspection.Tests.Messages;

public class MessagesRequestInspectorTests
{
    private static readonly FindingHasher Hasher = FakeSecrets.Hasher();

    private static MessagesRequestInspector NewInspector(MessagesInspectorOptions? options = null) =>
        new(RegexTextScanner.CreateDefault(), Hasher, options);

    private static RequestInspection Inspect(string json, InspectionPolicy? policy = null, MessagesInspectorOptions? options = null) =>
        NewInspector(options).Inspect(Encoding.UTF8.GetBytes(json), "team-a", policy ?? InspectionPolicy.Default);

    private static string Placeholder(string token) => $"[REDACTED:{FakeSecrets.TokenRule}:{Hasher.ShortHash(token)}]";

    [Theory]
    [InlineData("{\"system\":\"prefix TOKEN suffix\",\"messages\":[]}", "system")]
    [InlineData("{\"system\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"},{\"type\":\"text\",\"text\":\"TOKEN\",\"cache_control\":{\"type\":\"ephemeral\"}}]}", "system[2].text")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"TOKEN\"}]}", "messages[0].content")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"system\",\"content\":\"see TOKEN\"}]}", "messages[1].content")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"},{\"type\":\"text\",\"text\":\"TOKEN\"}]}]}", "messages[0].content[1].text")]
    [InlineData("{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"x\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Bash\",\"input\":{\"command\":\"export K=TOKEN\"}}]}]}", "messages[0].content[1].input.command")]
    [InlineData("{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"X\",\"input\":{\"a\":{\"b\":[1,{\"c\":[\"x\",\"TOKEN\"]}]}}}]}]}", "messages[0].content[0].input.a.b[1].c[1]")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"1\\tK=TOKEN\\n\"}]}]}", "messages[0].content[0].content")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"TOKEN\"}]}]}]}", "messages[0].content[1].content[1].text")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"u\",\"content\":[{\"type\":\"text\",\"text\":\"TOKEN\"}]}]}]}]}", "messages[0].content[0].content[0].content[0].text")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"text\",\"media_type\":\"text/plain\",\"data\":\"TOKEN\"}}]}]}", "messages[0].content[0].source.data")]
    [InlineData("{\"messages\":[{\"content\":[{\"text\":\"TOKEN\",\"type\":\"text\"}],\"role\":\"user\"}]}", "messages[0].content[0].text")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"search_result\",\"source\":\"https://h/?k=TOKEN\",\"title\":\"t\",\"content\":[{\"type\":\"text\",\"text\":\"x\"}]}]}]}", "messages[0].content[0].source")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"search_result\",\"source\":\"s\",\"title\":\"t\",\"content\":[{\"type\":\"text\",\"text\":\"TOKEN\"}]}]}]}", "messages[0].content[0].content[0].text")]
    public void Reports_the_json_location_of_every_block_shape(string template, string expectedLocation)
    {
        string token = FakeSecrets.Create(new Random(1));
        var result = Inspect(template.Replace("TOKEN", token, StringComparison.Ordinal));

        var finding = Assert.Single(result.Findings);
        Assert.Equal(expectedLocation, finding.Location);
        Assert.Equal(FakeSecrets.TokenRule, finding.RuleId);
        Assert.Equal(InspectionAction.Redact, finding.Action);
        Assert.Equal(Hasher.Hash(token), finding.ValueHash);
        Assert.True(result.Modified);
        Assert.Contains(Placeholder(token), Encoding.UTF8.GetString(result.Body.Span), StringComparison.Ordinal);
        Assert.DoesNotContain(token, Encoding.UTF8.GetString(result.Body.Span), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"model\":\"TOKEN\",\"messages\":[]}")]
    [InlineData("{\"messages\":[],\"tools\":[{\"name\":\"x\",\"description\":\"TOKEN\"}]}")]
    [InlineData("{\"messages\":[],\"metadata\":{\"user_id\":\"TOKEN\"}}")]
    [InlineData("{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"redacted_thinking\",\"data\":\"TOKEN\"}]}]}")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"TOKEN\"}}]}]}")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":[{\"data\":\"TOKEN\",\"type\":\"redacted_thinking\"}]}]}")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"TOKEN\",\"content\":\"ok\"}]}]}")]
    public void Leaves_fields_outside_conversation_content_and_opaque_payloads_alone(string template)
    {
        string json = template.Replace("TOKEN", FakeSecrets.Create(new Random(2)), StringComparison.Ordinal);
        var body = Encoding.UTF8.GetBytes(json);
        var result = NewInspector().Inspect(body, null, InspectionPolicy.Default);

        Assert.Empty(result.Findings);
        Assert.False(result.Modified);
        Assert.False(result.Blocked);
        Assert.True(result.Body.Span.SequenceEqual(body));
    }

    [Fact]
    public void Base64_media_is_scanned_when_the_option_asks_for_it()
    {
        string token = FakeSecrets.Create(new Random(3));
        string json = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"" + token + "\"}}]}]}";

        var result = Inspect(json, options: new MessagesInspectorOptions { IncludeBase64Media = true });

        Assert.Equal("messages[0].content[0].source.data", Assert.Single(result.Findings).Location);
    }

    [Fact]
    public void Escapes_are_decoded_before_matching_and_the_whole_escaped_range_is_replaced()
    {
        string token = FakeSecrets.Create(new Random(4));
        // Every character of the token written as a \u00XX escape, plus escapes around it that must survive.
        var escaped = new StringBuilder();
        foreach (char c in token)
        {
            escaped.Append("\\u00").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }

        string prefix = "{\"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9 \\ud83d\\ude80 tab\\there ";
        string suffix = " \\\"end\\\" \\u0041\"}]}";
        var result = Inspect(prefix + escaped + suffix);

        var finding = Assert.Single(result.Findings);
        Assert.Equal(FakeSecrets.TokenRule, finding.RuleId);
        Assert.Equal("café 🚀 tab\there ".Length, finding.Start);
        Assert.Equal(token.Length, finding.Length);
        Assert.Equal(prefix + Placeholder(token) + suffix, Encoding.UTF8.GetString(result.Body.Span));
    }

    [Fact]
    public void A_match_straddling_an_escape_takes_the_whole_escape_sequence()
    {
        string token = FakeSecrets.Create(new Random(5));
        // Only the first and last characters are escaped; the rest is literal.
        string raw = "\\u00" + ((int)token[0]).ToString("x2", System.Globalization.CultureInfo.InvariantCulture)
            + token[1..^1]
            + "\\u00" + ((int)token[^1]).ToString("x2", System.Globalization.CultureInfo.InvariantCulture);
        string json = "{\"messages\":[{\"role\":\"user\",\"content\":\"<" + raw + ">\"}]}";

        var result = Inspect(json);

        Assert.Equal("{\"messages\":[{\"role\":\"user\",\"content\":\"<" + Placeholder(token) + ">\"}]}", Encoding.UTF8.GetString(result.Body.Span));
    }

    [Fact]
    public void A_secret_inside_a_signed_thinking_block_blocks_instead_of_redacting()
    {
        string token = FakeSecrets.Create(new Random(6));
        string json = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"the key is " + token + "\",\"signature\":\"EqQBsig\"}]}]}";
        var body = Encoding.UTF8.GetBytes(json);

        var result = NewInspector().Inspect(body, null, InspectionPolicy.Default);

        Assert.True(result.Blocked);
        Assert.False(result.Modified);
        Assert.True(result.Body.Span.SequenceEqual(body));
        Assert.Equal(InspectionAction.Block, result.BlockingFinding!.Action);
        Assert.Equal("messages[1].content[0].thinking", result.BlockingFinding.Location);
        Assert.Equal($"request blocked: rule {FakeSecrets.TokenRule} at messages[1].content[0].thinking", result.BlockReason);
        Assert.DoesNotContain(token, result.BlockReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Thinking_type_after_its_text_is_still_recognised_as_signed()
    {
        string token = FakeSecrets.Create(new Random(7));
        string json = "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"thinking\":\"" + token + "\",\"signature\":\"s\",\"type\":\"thinking\"}]}]}";

        Assert.True(Inspect(json).Blocked);
    }

    [Fact]
    public void Alert_findings_in_thinking_do_not_block()
    {
        string json = "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"mail dev@example.test\",\"signature\":\"s\"}]}]}";

        var result = Inspect(json);

        Assert.False(result.Blocked);
        Assert.Equal(InspectionAction.Alert, Assert.Single(result.Findings).Action);
    }

    [Fact]
    public void Block_policy_names_rule_and_location_and_leaves_body_unchanged()
    {
        var policy = InspectionPolicy.Create(new InspectionPolicyOptions
        {
            Rules = [new ActionRule { RuleIds = ["fake-*"], Teams = ["team-a"], Action = "block" }],
        });
        string token = FakeSecrets.Create(new Random(8));
        string json = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"}]},{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"" + token + "\"}]}]}";

        var result = Inspect(json, policy);

        Assert.True(result.Blocked);
        Assert.False(result.Incomplete);
        Assert.Equal("request blocked: rule fake-token at messages[2].content[0].content", result.BlockReason);
    }

    [Fact]
    public void Alert_findings_are_reported_without_changing_the_body()
    {
        string json = "{\"messages\":[{\"role\":\"user\",\"content\":\"write to dev.one@example.test please\"}]}";
        var body = Encoding.UTF8.GetBytes(json);

        var result = NewInspector().Inspect(body, null, InspectionPolicy.Default);

        var finding = Assert.Single(result.Findings);
        Assert.Equal(FindingCategory.PersonalData, finding.Category);
        Assert.Equal(InspectionAction.Alert, finding.Action);
        Assert.Equal("write to ".Length, finding.Start);
        Assert.False(result.Modified);
        Assert.True(MemoryMarshalEquals(result.Body, body));
    }

    [Fact]
    public void Overlapping_redactions_merge_into_one_placeholder_named_after_the_first_rule()
    {
        var scanner = new RegexTextScanner(
            ("rule-a", "AAAA[0-9]{4}", FindingCategory.Secret, true),
            ("rule-b", "[0-9]{4}BBBB", FindingCategory.Secret, true));
        var inspector = new MessagesRequestInspector(scanner, Hasher);
        string json = "{\"messages\":[{\"role\":\"user\",\"content\":\"x AAAA1234BBBB y\"}]}";

        var result = inspector.Inspect(Encoding.UTF8.GetBytes(json), null, InspectionPolicy.Default);

        Assert.Equal(2, result.Findings.Count);
        string expected = "{\"messages\":[{\"role\":\"user\",\"content\":\"x [REDACTED:rule-a:" + Hasher.ShortHash("AAAA1234BBBB") + "] y\"}]}";
        Assert.Equal(expected, Encoding.UTF8.GetString(result.Body.Span));
    }

    [Fact]
    public void Findings_never_carry_the_value()
    {
        string token = FakeSecrets.Create(new Random(9));
        var result = Inspect("{\"messages\":[{\"role\":\"user\",\"content\":\"" + token + "\"}]}");

        string serialized = JsonSerializer.Serialize(result.Findings);
        Assert.DoesNotContain(token, serialized, StringComparison.Ordinal);
        Assert.DoesNotContain(token[FakeSecrets.Prefix.Length..], serialized, StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_nesting_is_walked_without_recursion_and_refused_past_the_limit()
    {
        string token = FakeSecrets.Create(new Random(10));
        const int Depth = 400;
        string input = new string('[', Depth) + "\"" + token + "\"" + new string(']', Depth);
        string json = "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"X\",\"input\":{\"deep\":" + input + "}}]}]}";

        var ok = Inspect(json, options: new MessagesInspectorOptions { MaxDepth = 1000 });
        Assert.Equal("messages[0].content[0].input.deep" + string.Concat(Enumerable.Repeat("[0]", Depth)), Assert.Single(ok.Findings).Location);
        Assert.True(ok.Modified);

        var refused = Inspect(json, options: new MessagesInspectorOptions { MaxDepth = 64 });
        Assert.True(refused.Blocked);
        Assert.True(refused.Incomplete);
        Assert.DoesNotContain(token, refused.BlockReason!, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_many_strings_fails_closed()
    {
        var sb = new StringBuilder("{\"messages\":[{\"role\":\"user\",\"content\":[");
        for (int i = 0; i < 50; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append("{\"type\":\"text\",\"text\":\"t").Append(i).Append("\"}");
        }

        sb.Append("]}]}");
        var result = Inspect(sb.ToString(), options: new MessagesInspectorOptions { MaxStrings = 10 });

        Assert.True(result.Blocked);
        Assert.True(result.Incomplete);
        Assert.Contains("more than 10 strings", result.BlockReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_that_are_not_plain_identifiers_are_not_echoed_in_locations()
    {
        string token = FakeSecrets.Create(new Random(11));
        string json = "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"X\",\"input\":{\"odd key.with dots\":\"" + token + "\"}}]}]}";

        Assert.Equal("messages[0].content[0].input[*]", Assert.Single(Inspect(json).Findings).Location);
    }

    [Fact]
    public void A_scanner_exception_reaches_the_caller_instead_of_passing_for_undecodable_text()
    {
        // The gateway maps an exception to inspection.on_error (500 when failing closed); only GetString's own
        // failures mean "not valid UTF-8".
        var inspector = new MessagesRequestInspector(new ThrowingScanner(), Hasher);
        var body = Encoding.UTF8.GetBytes("{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");

        Assert.Throws<InvalidOperationException>(() => inspector.Inspect(body, null, InspectionPolicy.Default));
    }

    private sealed class ThrowingScanner : ITextScanner
    {
        public void Scan(string text, List<TextMatch> results) => throw new InvalidOperationException("scanner bug");
    }

    private static bool MemoryMarshalEquals(ReadOnlyMemory<byte> actual, byte[] expected) => actual.Span.SequenceEqual(expected);
}
