using System.Text;

namespace Airlock.Inspection.Tests.Secrets;

/// <summary>
/// <c>keywordAnchor</c> makes the scanner try a rule's regex only from up to K characters before each keyword hit.
/// It must be a pure speed-up: the built-in generic rules find exactly what they found without it.
/// </summary>
public class KeywordAnchorTests
{
    private static readonly string[] s_names =
    [
        "api_key", "API-KEY", "encryption_key", "myencryption_key", "client.secret", "consumer_token", "apikey", "token",
        "credentials", "subscription_key", "webhook-key", "password", "passwd", "secretName", "session_token_value",
        "refreshToken", "SIGNING_KEY", "private_key_id", "keyStore", "monkey", "xsecret", "bearer_token",
    ];

    private static readonly string[] s_operators = [" = ", "=", ": ", ":", " := ", " => ", "\": ", "': ", " ", ":\t"];

    private static readonly string[] s_quotes = ["\"", "'", "`", "", "r\""];

    [Fact]
    public void Built_in_generic_rules_find_the_same_matches_with_and_without_the_anchor()
    {
        var builtIn = ReadBuiltInToml();
        Assert.Contains("keywordAnchor = ", builtIn, StringComparison.Ordinal);
        var unanchored = string.Join('\n', builtIn.Split('\n').Where(l => !l.StartsWith("keywordAnchor = ", StringComparison.Ordinal)));
        var anchoredScanner = new SecretScanner(RulePackReader.Read(builtIn, "built-in", isBuiltIn: true, baseDirectory: null));
        var plainScanner = new SecretScanner(RulePackReader.Read(unanchored, "built-in", isBuiltIn: true, baseDirectory: null));
        Assert.NotNull(anchoredScanner.Pack.FindRule("generic-api-key")!.KeywordAnchor);
        Assert.Null(plainScanner.Pack.FindRule("generic-api-key")!.KeywordAnchor);

        var text = SyntheticAssignments(new Random(20261124), lines: 3000);
        var anchored = Generic(anchoredScanner.ScanAll(text));
        var plain = Generic(plainScanner.ScanAll(text));

        Assert.True(plain.Count > 100, $"only {plain.Count} generic matches: the input does not exercise the rules");
        Assert.Contains(plain, m => m.StartsWith("generic-yaml-secret", StringComparison.Ordinal));
        Assert.Equal(plain, anchored);
    }

    [Fact]
    public void Mailgun_keys_are_found_the_same_with_and_without_the_anchor()
    {
        // "key-" + 32 hex digits at line starts, after separators, inside longer names (cache-key-…), doubled
        // (key-key-…), too short or too long, upper-case hex: every shape the separator and \b decide on.
        var builtIn = ReadBuiltInToml();
        var unanchored = string.Join('\n', builtIn.Split('\n').Where(l => !l.StartsWith("keywordAnchor = ", StringComparison.Ordinal)));
        var anchoredScanner = new SecretScanner(RulePackReader.Read(builtIn, "built-in", isBuiltIn: true, baseDirectory: null));
        var plainScanner = new SecretScanner(RulePackReader.Read(unanchored, "built-in", isBuiltIn: true, baseDirectory: null));
        Assert.NotNull(anchoredScanner.Pack.FindRule("mailgun-api-key")!.KeywordAnchor);
        var random = new Random(31);
        string[] before = ["", " ", "x", "-", "_", "=", "\"", "cache-", "key-", "KEY-", "9", "\t", "api_key: "];
        string[] after = ["", "\n", "0", "x", " ", "-", "\"", "_"];
        var sb = new StringBuilder();
        for (var i = 0; i < 3000; i++)
        {
            var hex = string.Concat(Enumerable.Range(0, random.Next(30, 35)).Select(_ => "0123456789abcdef"[random.Next(16)]));
            if (random.Next(10) == 0)
            {
                hex = hex[..5] + "A" + hex[6..];
            }

            sb.Append(before[random.Next(before.Length)]).Append(random.Next(5) == 0 ? "Key-" : "key-").Append(hex).Append(after[random.Next(after.Length)]);
            sb.Append(random.Next(3) == 0 ? "\n" : " ");
        }

        var text = sb.ToString();
        List<string> Mailgun(SecretScanner scanner) =>
            [.. scanner.ScanAll(text).Where(m => m.RuleId == "mailgun-api-key").Select(m => $"{m.Start}+{m.Length}")];
        var plain = Mailgun(plainScanner);

        Assert.True(plain.Count > 100, $"only {plain.Count} mailgun matches: the input does not exercise the rule");
        Assert.Equal(plain, Mailgun(anchoredScanner));
    }

    [Fact]
    public void Anchor_limits_how_far_before_the_keyword_a_match_may_start()
    {
        // The match "prefixword_key = '…'" starts 11 characters before its keyword "key": an anchor of 11 finds it,
        // an anchor of 4 cannot (which is why a rule's anchor must cover its longest word before the keyword).
        var value = FakeTokens.RandomBase62(new Random(3), 24);
        var line = $"config.prefixword_key = '{value}'\n";
        Assert.Equal(value.Length, Assert.Single(AnchoredRule(11).ScanAll(line)).Length);
        Assert.Empty(AnchoredRule(4).ScanAll(line));
    }

    [Fact]
    public void Custom_packs_accept_the_option_and_still_match()
    {
        var value = FakeTokens.RandomBase62(new Random(5), 24);
        var scanner = new SecretScanner(RulePack.Parse(AnchoredToml(0), "custom.toml"));
        var match = Assert.Single(scanner.ScanAll($"x = 1\nprefixword_key = '{value}'\n"));
        Assert.Equal("anchored", match.RuleId);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(65)]
    public void Out_of_range_anchor_is_rejected(int anchor)
    {
        var ex = Assert.Throws<RulePackException>(() => RulePack.Parse(AnchoredToml(anchor), "custom.toml"));
        Assert.Contains("keywordAnchor", ex.Message, StringComparison.Ordinal);
    }

    private static SecretScanner AnchoredRule(int anchor) =>
        new(RulePackReader.Read(AnchoredToml(anchor), "built-in", isBuiltIn: true, baseDirectory: null));

    private static string AnchoredToml(int anchor) => $$"""
        [[rules]]
        id = "anchored"
        regex = '''(?i)(?:prefixword|p)_key[ \t]{0,4}=[ \t]*'([A-Za-z0-9]{12,64})''''
        keywords = ["key"]
        keywordAnchor = {{anchor}}
        """;

    private static List<string> Generic(List<TextMatch> matches) =>
        [.. matches.Where(m => m.RuleId.StartsWith("generic-", StringComparison.Ordinal)).Select(m => $"{m.RuleId}@{m.Start}+{m.Length}").Order(StringComparer.Ordinal)];

    private static string ReadBuiltInToml()
    {
        using var stream = typeof(RulePack).Assembly.GetManifestResourceStream(RulePack.BuiltInResourceName)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    // Lines of assignments in code and YAML shapes: names with and without prefixes, several per line, keywords
    // inside values, values of every length around the rules' bounds. FAKE values only.
    private static string SyntheticAssignments(Random random, int lines)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            var indent = new string(' ', random.Next(0, 6));
            sb.Append(indent);
            var parts = random.Next(1, 3);
            for (var p = 0; p < parts; p++)
            {
                var name = s_names[random.Next(s_names.Length)];
                var op = s_operators[random.Next(s_operators.Length)];
                var quote = s_quotes[random.Next(s_quotes.Length)];
                var value = FakeTokens.RandomBase62(random, random.Next(6, 48));
                if (random.Next(4) == 0)
                {
                    value = value[..(value.Length / 2)] + s_names[random.Next(s_names.Length)] + value[(value.Length / 2)..];
                }

                var close = quote.Length == 0 ? "" : quote[^1..];
                sb.Append(name).Append(op).Append(quote).Append(value).Append(close);
                if (p + 1 < parts)
                {
                    sb.Append(random.Next(2) == 0 ? ", " : "; ");
                }
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }
}
