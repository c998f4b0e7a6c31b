using System.Text;
using System.Text.Json;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;
using Airlock.Inspection.Streaming;
using Airlock.Inspection.Tests.Messages.Fakes;
using Xunit.Abstractions;

namespace Airlock.Inspection.Tests.Messages;

public class StreamingOutputInspectorTests
{
    private static readonly FindingHasher Hasher = FakeSecrets.Hasher();
    private readonly ITestOutputHelper _output;

    public StreamingOutputInspectorTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(32)]
    public void A_token_split_across_deltas_is_found_once_at_the_right_place(int pieces)
    {
        string token = FakeSecrets.Create(new Random(pieces));
        string before = "Here is the config you asked for:\nAPI_KEY=";
        string text = before + token + "\nand some closing words that are long enough to pass the scan interval.";
        var inspector = NewInspector();

        var found = new List<Finding>();
        found.AddRange(Feed(inspector, Start(0, "text")));
        foreach (var piece in SplitAcross(text, before.Length, token.Length, pieces))
        {
            found.AddRange(Feed(inspector, TextDelta(0, piece)));
        }

        found.AddRange(Feed(inspector, Stop(0)));
        found.AddRange(Feed(inspector, Event("message_stop", "{\"type\":\"message_stop\"}")));

        var finding = Assert.Single(found);
        Assert.Equal("content[0].text", finding.Location);
        Assert.Equal(FakeSecrets.TokenRule, finding.RuleId);
        Assert.Equal(before.Length, finding.Start);
        Assert.Equal(token.Length, finding.Length);
        Assert.Equal(Hasher.Hash(token), finding.ValueHash);
        Assert.Equal(InspectionAction.Alert, finding.Action);
        Assert.Equal(found, inspector.Findings);
    }

    [Fact]
    public void One_character_per_delta_still_finds_each_token_once()
    {
        var random = new Random(77);
        string t1 = FakeSecrets.Create(random);
        string t2 = FakeSecrets.Create(random);
        string text = "first " + t1 + " then a long sentence without newline " + new string('x', 300) + " second " + t2;
        var inspector = NewInspector();

        var found = new List<Finding>();
        Feed(inspector, Start(1, "text"));
        foreach (char c in text)
        {
            found.AddRange(Feed(inspector, TextDelta(1, c.ToString())));
        }

        found.AddRange(Feed(inspector, Stop(1)));

        Assert.Equal([text.IndexOf(t1, StringComparison.Ordinal), text.IndexOf(t2, StringComparison.Ordinal)], found.Select(f => f.Start));
        Assert.All(found, f => Assert.Equal("content[1].text", f.Location));
    }

    [Fact]
    public void A_token_that_ends_the_stream_is_found_at_block_stop()
    {
        string token = FakeSecrets.Create(new Random(5));
        var inspector = NewInspector();
        Feed(inspector, Start(0, "text"));
        Assert.Empty(Feed(inspector, TextDelta(0, "key: " + token)));

        var finding = Assert.Single(Feed(inspector, Stop(0)));
        Assert.Equal(5, finding.Start);
    }

    [Fact]
    public void Tool_input_json_deltas_are_decoded_and_located_at_input()
    {
        string token = FakeSecrets.Create(new Random(6));
        string json = "{\"file_path\":\"/repo/.env\",\"content\":\"A=1\\nTOKEN=" + token[..10] + "\\u00" + ((int)token[10]).ToString("x2", System.Globalization.CultureInfo.InvariantCulture) + token[11..] + "\\n\"}";
        var inspector = NewInspector();

        var found = new List<Finding>();
        found.AddRange(Feed(inspector, "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Write\",\"input\":{}}}"));
        for (int i = 0; i < json.Length; i += 5)
        {
            found.AddRange(Feed(inspector, InputDelta(2, json.Substring(i, Math.Min(5, json.Length - i)))));
        }

        found.AddRange(Feed(inspector, Stop(2)));

        var finding = Assert.Single(found);
        Assert.Equal("content[2].input", finding.Location);
        Assert.Equal(Hasher.Hash(token), finding.ValueHash);
    }

    [Fact]
    public void A_multi_line_pem_block_longer_than_the_carry_over_is_found_once()
    {
        var scanner = new RegexTextScanner(("fake-private-key", "-----BEGIN FAKE PRIVATE KEY-----\\n[A-Za-z0-9+/=\\n]+-----END FAKE PRIVATE KEY-----", FindingCategory.Secret, true));
        var random = new Random(8);
        var body = new StringBuilder();
        for (int line = 0; line < 40; line++)
        {
            body.Append(Convert.ToBase64String(RandomBytes(random, 48))).Append('\n');
        }

        string pem = "-----BEGIN FAKE PRIVATE KEY-----\n" + body + "-----END FAKE PRIVATE KEY-----";
        string text = "Sure:\n" + pem + "\nDone.";
        Assert.True(pem.Length > new StreamingInspectorOptions().CarryOverChars * 2);
        var inspector = new StreamingOutputInspector(scanner, Hasher, InspectionPolicy.Default, null);

        var found = new List<Finding>();
        Feed(inspector, Start(0, "text"));
        for (int i = 0; i < text.Length; i += 13)
        {
            found.AddRange(Feed(inspector, TextDelta(0, text.Substring(i, Math.Min(13, text.Length - i)))));
        }

        found.AddRange(Feed(inspector, Stop(0)));

        var finding = Assert.Single(found);
        Assert.Equal(6, finding.Start);
        Assert.Equal(pem.Length, finding.Length);
    }

    [Fact]
    public void A_rule_spanning_a_few_lines_is_found_when_streamed_one_character_at_a_time()
    {
        var scanner = new RegexTextScanner(("fake-pair", "ID=[A-Z]{8}\\n(?:[^\\n]*\\n){0,2}[^\\n]*KEY=[a-z]{12}\\b", FindingCategory.Secret, false));
        string text = new string('-', 700) + "\nID=ABCDEFGH\nregion=eu\nuser KEY=abcdefghijkl\nrest of the answer " + new string('.', 200);
        var inspector = new StreamingOutputInspector(scanner, Hasher, InspectionPolicy.Default, null, new StreamingInspectorOptions { ScanIntervalChars = 8 });

        var found = new List<Finding>();
        Feed(inspector, Start(0, "text"));
        foreach (char c in text)
        {
            found.AddRange(Feed(inspector, TextDelta(0, c.ToString())));
        }

        found.AddRange(Feed(inspector, Stop(0)));

        Assert.Equal(text.IndexOf("ID=", StringComparison.Ordinal), Assert.Single(found).Start);
    }

    [Fact]
    public void Benign_streams_produce_no_findings()
    {
        var inspector = NewInspector();
        var random = new Random(9);
        Feed(inspector, Start(0, "thinking"));
        Feed(inspector, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me think about fk_live_ prefixes in general.\"}}");
        Feed(inspector, Stop(0));
        Feed(inspector, Start(1, "text"));
        for (int i = 0; i < 200; i++)
        {
            Assert.Empty(Feed(inspector, TextDelta(1, ClaudeCodeBodyBuilder.Text(random, 4) + " ")));
        }

        Feed(inspector, Stop(1));
        Assert.Empty(Feed(inspector, Event("message_stop", "{\"type\":\"message_stop\"}")));
        Assert.Empty(inspector.Findings);
    }

    [Fact]
    public void Thinking_deltas_are_located_at_thinking()
    {
        string token = FakeSecrets.Create(new Random(10));
        var inspector = NewInspector();
        Feed(inspector, Start(0, "thinking"));
        Feed(inspector, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"the value " + token[..9] + "\"}}");
        Feed(inspector, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"" + token[9..] + " is secret\"}}");

        var finding = Assert.Single(Feed(inspector, Stop(0)));
        Assert.Equal("content[0].thinking", finding.Location);
    }

    [Fact]
    public void Output_block_policy_ends_the_stream_and_names_the_rule()
    {
        var policy = InspectionPolicy.Create(new InspectionPolicyOptions
        {
            OutputRules = [new ActionRule { Categories = ["secret"], Action = "block" }],
        });
        string token = FakeSecrets.Create(new Random(11));
        var inspector = new StreamingOutputInspector(RegexTextScanner.CreateDefault(), Hasher, policy, "team-a");

        inspector.Inspect("content_block_start", Encoding.UTF8.GetBytes(Start(0, "text")));
        var verdict = inspector.Inspect("content_block_delta", Encoding.UTF8.GetBytes(TextDelta(0, "leaked " + token + " and then more text that pushes past the interval " + new string('.', 80))));

        Assert.True(verdict.EndStream);
        Assert.Equal(FakeSecrets.TokenRule, verdict.BlockingFinding!.RuleId);
        Assert.Equal(InspectionAction.Block, verdict.BlockingFinding.Action);
        Assert.True(inspector.Ended);
        Assert.True(inspector.Inspect("content_block_delta", Encoding.UTF8.GetBytes(TextDelta(0, "more"))).EndStream);
    }

    [Fact]
    public void Cost_grows_with_new_text_not_with_the_length_of_the_answer()
    {
        var inspector = NewInspector();
        var random = new Random(12);
        Feed(inspector, Start(0, "text"));
        long total = 0;
        var costPerQuarter = new List<long>();
        long lastScanned = 0;
        for (int quarter = 0; quarter < 4; quarter++)
        {
            for (int i = 0; i < 2500; i++)
            {
                string delta = ClaudeCodeBodyBuilder.Text(random, 3) + " ";
                total += delta.Length;
                Feed(inspector, TextDelta(0, delta));
            }

            costPerQuarter.Add(inspector.ScannedChars - lastScanned);
            lastScanned = inspector.ScannedChars;
        }

        Feed(inspector, Stop(0));
        double ratio = (double)inspector.ScannedChars / total;
        _output.WriteLine($"streamed {total} chars in 10000 deltas, scanned {inspector.ScannedChars} chars ({ratio:F2}x), per quarter {string.Join(", ", costPerQuarter)}");

        Assert.True(ratio < 6, $"scanned {ratio:F2}x the text");
        Assert.True(costPerQuarter[3] < costPerQuarter[0] * 1.5, "later deltas must not cost more than early ones");
    }

    private static StreamingOutputInspector NewInspector() => new(RegexTextScanner.CreateDefault(), Hasher, InspectionPolicy.Default, null);

    private static IReadOnlyList<Finding> Feed(StreamingOutputInspector inspector, string json) =>
        inspector.Inspect(null, Encoding.UTF8.GetBytes(json)).NewFindings;

    private static string Event(string name, string json) => json.Contains(name, StringComparison.Ordinal) ? json : throw new ArgumentException(name);

    private static string Start(int index, string type) =>
        $"{{\"type\":\"content_block_start\",\"index\":{index},\"content_block\":{{\"type\":\"{type}\",\"{(type == "thinking" ? "thinking" : "text")}\":\"\"}}}}";

    private static string Stop(int index) => $"{{\"type\":\"content_block_stop\",\"index\":{index}}}";

    private static string TextDelta(int index, string text) =>
        $"{{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{{\"type\":\"text_delta\",\"text\":{JsonSerializer.Serialize(text)}}}}}";

    private static string InputDelta(int index, string partialJson) =>
        $"{{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":{JsonSerializer.Serialize(partialJson)}}}}}";

    // Splits text into pieces such that the token [tokenStart, tokenStart+tokenLength) spans exactly `pieces` of them.
    private static List<string> SplitAcross(string text, int tokenStart, int tokenLength, int pieces)
    {
        var cuts = new List<int> { 0 };
        for (int i = 1; i < pieces; i++)
        {
            cuts.Add(tokenStart + (tokenLength * i / pieces));
        }

        cuts.Add(text.Length);
        return [.. cuts.Zip(cuts.Skip(1), (a, b) => text[a..b])];
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
