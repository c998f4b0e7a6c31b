using System.Text.RegularExpressions;

namespace Airlock.Inspection.Tests.Secrets;

public class BuiltInPackTests
{
    [Fact]
    public void Built_in_pack_loads_with_at_least_150_rules_each_with_keywords()
    {
        var pack = RulePack.LoadBuiltIn();

        Assert.True(pack.Rules.Count >= 150, $"{pack.Rules.Count} rules");
        Assert.All(pack.Rules.Where(r => r.Regex is not null), r => Assert.NotEmpty(r.Keywords));
        Assert.All(pack.Rules, r => Assert.True(r.IsBuiltIn));
        Assert.Equal(pack.Rules.Count, pack.Rules.Select(r => r.Id).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Every_built_in_rule_can_build_its_linear_time_fallback()
    {
        var failures = new List<string>();
        foreach (var rule in RulePack.LoadBuiltIn().Rules.Where(r => r.Regex is not null))
        {
            try
            {
                _ = RuleRegexFactory.CreateLinear(rule.Regex!.ToString());
            }
            catch (NotSupportedException ex)
            {
                failures.Add($"{rule.Id}: {ex.Message}");
            }
        }

        Assert.Empty(failures);
    }

    [Fact]
    public void Every_built_in_pattern_builds_though_the_pack_defers_building_them_to_first_use()
    {
        // The built-in pack is read without building its ~300 regexes (a hook process runs a handful): a pattern that
        // does not build would only fail at its first match, so every one is built here instead.
        var pack = RulePackReader.Read(BuiltInToml(), RulePack.BuiltInSourceName, isBuiltIn: true, baseDirectory: null);
        var failures = new List<string>();
        var built = 0;
        foreach (var rule in pack.Rules)
        {
            var patterns = new List<Func<Regex?>> { () => rule.Regex, () => rule.Path };
            foreach (var allowlist in rule.Allowlists.Concat(pack.GlobalAllowlists))
            {
                patterns.AddRange(allowlist.Regexes.Select((_, i) => (Func<Regex?>)(() => allowlist.Regexes[i])));
                patterns.AddRange(allowlist.Paths.Select((_, i) => (Func<Regex?>)(() => allowlist.Paths[i])));
            }

            foreach (var pattern in patterns)
            {
                try
                {
                    if (pattern() is { } regex)
                    {
                        Assert.Equal(RuleRegexFactory.BuiltInMatchTimeout, regex.MatchTimeout);
                        Assert.Equal(RegexOptions.None, regex.Options & (RegexOptions.NonBacktracking | RegexOptions.Compiled | RegexOptions.IgnoreCase));
                        built++;
                    }
                }
                catch (ArgumentException ex)
                {
                    failures.Add($"{rule.Id}: {ex.Message}");
                }
            }
        }

        Assert.Empty(failures);
        Assert.True(built > 250, $"{built} patterns built");
    }

    [Fact]
    public void Building_a_scanner_over_the_built_in_pack_builds_no_regex_until_a_keyword_occurs()
    {
        var pack = RulePackReader.Read(BuiltInToml(), RulePack.BuiltInSourceName, isBuiltIn: true, baseDirectory: null);
        var scanner = new SecretScanner(pack);
        var results = new List<TextMatch>();

        scanner.Scan("nothing to see in this sentence", results);

        Assert.Empty(results);
        Assert.All(pack.Rules.Where(r => r.NetPattern is not null), r => Assert.False(r.RegexBuilt, r.Id));

        // A keyword builds what the rules near it need, and detection is what it always was.
        scanner.Scan("id_ed25519:\n" + new Rules.FakeTokens(seed: 11).Pem("OPENSSH PRIVATE KEY", 7) + "\n", results);
        Assert.Contains(results, m => m.RuleId.StartsWith("private-key", StringComparison.Ordinal));
    }

    private static string BuiltInToml()
    {
        using var stream = typeof(RulePack).Assembly.GetManifestResourceStream(RulePack.BuiltInResourceName)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
