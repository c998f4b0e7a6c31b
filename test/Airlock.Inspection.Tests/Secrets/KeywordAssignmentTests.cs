using System.Text;

namespace Airlock.Inspection.Tests.Secrets;

/// <summary>
/// <c>keywordAssignment</c> lets the scanner skip a rule's windows when none of their keyword hits is followed by an
/// assignment operator (and, for "quoted", an opening quote). It must be a pure speed-up: the built-in generic rules
/// find exactly what they found without it, on assignment-shaped text built to probe every boundary of the check.
/// </summary>
public class KeywordAssignmentTests
{
    private static readonly string[] s_names =
    [
        "api_key", "API-KEY", "encryption_key", "client.secret", "apikey", "token", "credentials", "subscription_key",
        "password", "passwd", "PWD", "db_passphrase", "AUTH_TOKEN", "SECRET_KEY_BASE", "monkey", "keyStore",
        "secretName", "x-token", "very_long_prefix_that_runs_past_the_cap_of_the_check_for_identifier_chars_token",
        "export AWS_SECRET", "token_value_with_more_than_twenty_chars_after_keyword", "settings[\"token\"]", "key.id",
    ];

    private static readonly string[] s_operators =
    [
        " = ", "=", ": ", ":", " := ", " => ", "\": ", "']: ", "\"] = ", " ", ":\t", "==", " : ", "  =  ", "\t=\t",
        "=>", ":=", " -> ", "(", "=      ", "\"\"\": ",
    ];

    private static readonly string[] s_quotes = ["\"", "'", "`", "", "r\"", "@\"", "b'", "u\"", "f\""];

    [Fact]
    public void Built_in_generic_rules_find_the_same_matches_with_and_without_the_assignment_check()
    {
        var builtIn = ReadBuiltInToml();
        Assert.Contains("keywordAssignment = ", builtIn, StringComparison.Ordinal);
        var unchecked_ = string.Join('\n', builtIn.Split('\n').Where(l => !l.StartsWith("keywordAssignment = ", StringComparison.Ordinal)));
        var checkedScanner = new SecretScanner(RulePackReader.Read(builtIn, "built-in", isBuiltIn: true, baseDirectory: null));
        var plainScanner = new SecretScanner(RulePackReader.Read(unchecked_, "built-in", isBuiltIn: true, baseDirectory: null));
        Assert.Equal(KeywordAssignment.Quoted, checkedScanner.Pack.FindRule("generic-api-key")!.KeywordAssignment);
        Assert.Equal(KeywordAssignment.None, plainScanner.Pack.FindRule("generic-api-key")!.KeywordAssignment);

        var text = SyntheticAssignments(new Random(20261124), lines: 6000);
        var found = All(checkedScanner.ScanAll(text));
        var plain = All(plainScanner.ScanAll(text));

        foreach (var rule in new[] { "generic-api-key", "generic-password", "generic-env-assignment", "generic-yaml-secret" })
        {
            Assert.True(plain.Count(m => m.StartsWith(rule + "@", StringComparison.Ordinal)) > 20, $"the input does not exercise {rule}");
        }

        Assert.Equal(plain, found);
    }

    [Theory]
    [InlineData("key = 'v'", KeywordAssignment.Quoted)]
    [InlineData("key_name\"] := r\"v", KeywordAssignment.Quoted)]
    [InlineData("key => `v", KeywordAssignment.Quoted)]
    [InlineData("key: value", KeywordAssignment.Operator)]
    [InlineData("KEY=value", KeywordAssignment.Operator)]
    [InlineData("key==\"v\"", KeywordAssignment.Quoted)] // more than the regexes accept: the check only ever lets through
    [InlineData("key.get(\"v\")", KeywordAssignment.None)]
    [InlineData("key", KeywordAssignment.None)]
    [InlineData("key   ", KeywordAssignment.None)]
    [InlineData("key, token", KeywordAssignment.None)]
    public void Reads_what_follows_a_keyword(string text, KeywordAssignment expected)
    {
        Assert.Equal(expected, SecretScanner.AssignmentAfter(text, 3, text.Length));
    }

    [Fact]
    public void A_run_longer_than_the_cap_counts_as_an_assignment()
    {
        var text = "key" + new string('a', 200) + " = 1";

        Assert.Equal(KeywordAssignment.Quoted, SecretScanner.AssignmentAfter(text, 3, text.Length));
    }

    [Fact]
    public void Unknown_values_are_rejected_at_load()
    {
        var ex = Assert.Throws<RulePackException>(() => RulePack.Parse("""
            [[rules]]
            id = "x"
            regex = '''key = "([a-z]{12})"'''
            keywords = ["key"]
            keywordAssignment = "always"
            """, "custom.toml"));
        Assert.Contains("keywordAssignment", ex.Message, StringComparison.Ordinal);
    }

    private static List<string> All(List<TextMatch> matches) =>
        [.. matches.Select(m => $"{m.RuleId}@{m.Start}+{m.Length}").Order(StringComparer.Ordinal)];

    private static string ReadBuiltInToml()
    {
        using var stream = typeof(RulePack).Assembly.GetManifestResourceStream(RulePack.BuiltInResourceName)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    // Assignments in code, YAML and .env shapes, with operators and quotes the check must accept or refuse, names
    // past the check's cap, keywords inside values and several assignments per line. FAKE values only.
    private static string SyntheticAssignments(Random random, int lines)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            sb.Append(' ', random.Next(0, 3) * 2);
            var parts = random.Next(1, 3);
            for (var p = 0; p < parts; p++)
            {
                var name = s_names[random.Next(s_names.Length)];
                if (random.Next(3) == 0)
                {
                    name = name.ToUpperInvariant();
                }

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

            sb.Append(random.Next(10) == 0 ? "\r\n" : "\n");
        }

        return sb.ToString();
    }
}
