namespace Airlock.Inspection.Tests.Rules;

/// <summary>
/// A token ends where its alphabet ends: whatever follows it in real text (a sentence's period, a closing
/// quote, a markdown backtick, a parenthesis, CRLF, the end of the string) must not change the reported span.
/// Each true positive is cut right after its secret and re-suffixed with each of those.
/// </summary>
public sealed class TokenBoundaryTests
{
    private static readonly string[] s_suffixes = ["", ".\nNext line.", "\", \"next\": 1}", "`", ")", "'", " ", "\r\n", ";"];

    private static readonly string[] s_prefixes = ["", "=", "\"", "(", " ", "\n", "'", ":", "`", "key: ", "token=", "[", "{\"k\":\""];

    // The secret is followed by syntax the rule requires (URI host, closing quote or tag, end of line).
    private static readonly HashSet<string> s_needsTrailingContext = new(StringComparer.Ordinal)
    {
        "postgres-connection-uri", "mysql-connection-uri", "mongodb-connection-uri", "redis-connection-uri",
        "amqp-connection-uri", "other-connection-uri", "basic-auth-url", "gcp-service-account-key",
        "docker-config-auth", "maven-settings-password", "generic-api-key", "generic-password",
        "generic-env-assignment", "generic-yaml-secret",
    };

    // Values whose alphabet really contains these characters (passwords, Entra secrets, Adyen's third part):
    // a trailing one is, for the rule, part of the value.
    private static readonly Dictionary<string, string> s_mayAbsorb = new(StringComparer.Ordinal)
    {
        ["azure-ad-client-secret"] = ".",
        ["adyen-api-key"] = ".;",
        ["connection-string-password"] = ".`)",
        ["jdbc-connection-password"] = ".)",
        ["mysql-cli-password"] = ".`);",
        ["sshpass-password"] = ".`);",
        ["redis-cli-password"] = ".`);",
        ["curl-basic-auth"] = ".`);",
    };

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var group in RuleExamples.TruePositives.GroupBy(e => e.RuleId).Where(g => !s_needsTrailingContext.Contains(g.Key)))
        {
            for (var i = 0; i < group.Count(); i++)
            {
                data.Add(group.Key, i);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Span_does_not_depend_on_what_follows_the_token(string ruleId, int index)
    {
        var example = RuleExamples.TruePositives.Where(e => e.RuleId == ruleId).ElementAt(index);
        var cut = example.Text[..(example.Start + example.Length)];
        var absorbed = s_mayAbsorb.GetValueOrDefault(ruleId, string.Empty);

        foreach (var suffix in s_suffixes.Where(s => s.Length == 0 || !absorbed.Contains(s[0], StringComparison.Ordinal)))
        {
            var matches = RulePackFixture.Scan(RulePackFixture.Engines.BuiltIn, cut + suffix);

            Assert.True(
                matches.Exists(m => m.RuleId == ruleId && m.Start == example.Start && m.Length == example.Length),
                $"{ruleId}: suffix #{Array.IndexOf(s_suffixes, suffix)} changed the span; got [{string.Join(", ", matches.Select(m => $"{m.RuleId}@{m.Start}+{m.Length}"))}]");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Self_contained_token_is_found_whatever_precedes_it(string ruleId, int index)
    {
        var example = RuleExamples.TruePositives.Where(e => e.RuleId == ruleId).ElementAt(index);
        var secret = example.Text.Substring(example.Start, example.Length);

        // Rules that need a named setting or surrounding syntax do not fire on the bare value; for the others
        // (prefix + format tokens, 168 of them today) the value alone must be enough, after any delimiter.
        var bare = RulePackFixture.Scan(RulePackFixture.Engines.BuiltIn, secret);
        if (!bare.Exists(m => m.RuleId == ruleId && m.Start == 0 && m.Length == secret.Length))
        {
            Assert.DoesNotContain(bare, m => m.RuleId == ruleId && m.Length > secret.Length);
            return;
        }

        foreach (var prefix in s_prefixes)
        {
            var matches = RulePackFixture.Scan(RulePackFixture.Engines.BuiltIn, prefix + secret + "\n");

            Assert.True(
                matches.Exists(m => m.RuleId == ruleId && m.Start == prefix.Length && m.Length == secret.Length),
                $"{ruleId}: prefix #{Array.IndexOf(s_prefixes, prefix)} changed the span; got [{string.Join(", ", matches.Select(m => $"{m.RuleId}@{m.Start}+{m.Length}"))}]");
        }
    }

    [Fact]
    public void Most_rules_recognise_the_bare_token()
    {
        var selfContained = RuleExamples.TruePositives
            .GroupBy(e => e.RuleId)
            .Count(g => g.Any(e =>
            {
                var secret = e.Text.Substring(e.Start, e.Length);
                return RulePackFixture.Scan(RulePackFixture.Engines.BuiltIn, secret).Exists(m => m.RuleId == e.RuleId && m.Start == 0 && m.Length == secret.Length);
            }));

        Assert.True(selfContained >= 150, $"only {selfContained} rules recognise their token without context");
    }
}
