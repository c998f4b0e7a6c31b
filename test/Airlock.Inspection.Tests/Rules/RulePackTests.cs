using System.Text.RegularExpressions;

namespace Airlock.Inspection.Tests.Rules;

/// <summary>
/// Per-rule tests of the shipped rule pack: every rule fires on its true positives with the exact secret span
/// and stays quiet on its false positives, on both regex engines. Failure messages name rules and offsets only,
/// never the (fake) token text.
/// </summary>
public sealed partial class RulePackTests
{
    public static TheoryData<string, string, int> TruePositiveCases() => Cases(RuleExamples.TruePositives);

    public static TheoryData<string, string, int> FalsePositiveCases() => Cases(RuleExamples.FalsePositives);

    [Theory]
    [MemberData(nameof(TruePositiveCases))]
    public void True_positive_is_reported_with_the_exact_secret_span(string engine, string ruleId, int index)
    {
        var example = Example(RuleExamples.TruePositives, ruleId, index);

        var matches = RulePackFixture.Scan(engine, example.Text);

        var ofRule = matches.Where(m => m.RuleId == ruleId).ToList();
        Assert.True(ofRule.Count > 0, $"{ruleId} did not fire; fired: [{Describe(matches)}]");
        Assert.Contains(ofRule, m => m.Start == example.Start && m.Length == example.Length);
        var rule = RulePackFixture.BuiltIn.FindRule(ruleId)!;
        var hit = ofRule.First(m => m.Start == example.Start);
        Assert.Equal(rule.Category, hit.Category);
        Assert.Equal(rule.Confidence, hit.Confidence);
        Assert.Equal(rule.Identifiable, hit.Identifiable);
    }

    [Theory]
    [MemberData(nameof(FalsePositiveCases))]
    public void False_positive_is_not_reported(string engine, string ruleId, int index)
    {
        var example = Example(RuleExamples.FalsePositives, ruleId, index);

        var matches = RulePackFixture.Scan(engine, example.Text);

        Assert.True(matches.All(m => m.RuleId != ruleId), $"{ruleId} fired on its false positive at [{Describe(matches.Where(m => m.RuleId == ruleId))}]");
    }

    [Fact]
    public void Every_rule_has_a_true_positive_example()
    {
        var covered = RuleExamples.TruePositives.Select(e => e.RuleId).ToHashSet(StringComparer.Ordinal);

        // Companion-only rules (skipReport) never report on their own; they are covered through the rule that requires them.
        var missing = RulePackFixture.BuiltIn.Rules.Where(r => !r.SkipReport).Select(r => r.Id).Where(id => !covered.Contains(id)).ToList();

        Assert.True(missing.Count == 0, "rules without a true-positive example: " + string.Join(", ", missing));
    }

    [Fact]
    public void Every_companion_only_rule_is_required_by_a_reporting_rule()
    {
        var required = RulePackFixture.BuiltIn.Rules.SelectMany(r => r.Required).Select(q => q.Id).ToHashSet(StringComparer.Ordinal);

        var orphans = RulePackFixture.BuiltIn.Rules.Where(r => r.SkipReport && !required.Contains(r.Id)).Select(r => r.Id).ToList();

        Assert.Empty(orphans);
        Assert.All(required, id => Assert.NotNull(RulePackFixture.BuiltIn.FindRule(id)));
    }

    [Fact]
    public void Every_reporting_rule_has_a_false_positive_example()
    {
        var covered = RuleExamples.FalsePositives.Select(e => e.RuleId).ToHashSet(StringComparer.Ordinal);

        // A companion-only rule (skipReport) never reports, so it has nothing to get wrong on its own.
        var missing = RulePackFixture.BuiltIn.Rules
            .Where(r => !r.SkipReport && !covered.Contains(r.Id))
            .Select(r => r.Id)
            .ToList();

        Assert.True(missing.Count == 0, $"rules without a false-positive example: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Examples_name_only_rules_that_exist()
    {
        var unknown = RuleExamples.TruePositives.Concat(RuleExamples.FalsePositives)
            .Select(e => e.RuleId)
            .Where(id => RulePackFixture.BuiltIn.FindRule(id) is null)
            .Distinct()
            .ToList();

        Assert.Empty(unknown);
    }

    [Fact]
    public void Pack_has_at_least_150_rules_with_unique_kebab_case_ids()
    {
        var ids = RulePackFixture.BuiltIn.Rules.Select(r => r.Id).ToList();

        Assert.True(ids.Count >= 150, $"only {ids.Count} rules");
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id => Assert.Matches(KebabCase(), id));
    }

    [Fact]
    public void Every_rule_has_lowercase_keywords_and_consistent_metadata()
    {
        Assert.All(RulePackFixture.BuiltIn.Rules, rule =>
        {
            Assert.NotEmpty(rule.Keywords);
            Assert.All(rule.Keywords, k => Assert.Equal(k.ToLowerInvariant(), k));
            Assert.Equal(FindingCategory.Secret, rule.Category);
            Assert.False(string.IsNullOrWhiteSpace(rule.Description));
            Assert.NotNull(rule.Regex);

            // Generic assignments are heuristic: low confidence, alert only, always entropy gated.
            if (rule.Id.StartsWith("generic-", StringComparison.Ordinal))
            {
                Assert.Equal(Confidence.Low, rule.Confidence);
                Assert.False(rule.Identifiable);
                Assert.True(rule.Entropy >= 3.5, $"{rule.Id} entropy gate below 3.5");
            }

            // A low-confidence rule is never redacted by default.
            if (rule.Confidence == Confidence.Low)
            {
                Assert.False(rule.Identifiable);
            }
        });
    }

    [Fact]
    public void File_and_embedded_built_in_pack_are_the_same_rules()
    {
        var fromFile = RulePackFixture.FromFile.Rules.Select(r => r.Id);
        var builtIn = RulePackFixture.BuiltIn.Rules.Select(r => r.Id);

        Assert.Equal(builtIn, fromFile);
        Assert.Empty(RulePackFixture.BuiltIn.Warnings);
    }

    [Fact]
    public void No_rule_uses_lookaround_or_backreferences()
    {
        var text = File.ReadAllText(RulePackFixture.RulesFilePath);

        Assert.DoesNotContain("(?=", text, StringComparison.Ordinal);
        Assert.DoesNotContain("(?!", text, StringComparison.Ordinal);
        Assert.DoesNotContain("(?<=", text, StringComparison.Ordinal);
        Assert.DoesNotContain("(?<!", text, StringComparison.Ordinal);
        Assert.DoesNotMatch(Backreference(), text);
        Assert.DoesNotContain("(?>", text, StringComparison.Ordinal);
    }

    [Fact]
    public void No_repetition_count_exceeds_the_RE2_limit_of_1000()
    {
        // RE2 (and so gitleaks) rejects counted repetitions above 1000; longer runs use an open {n,} bound.
        var tooLarge = RulePackFixture.BuiltIn.Rules
            .SelectMany(r => CountedRepetition().Matches(r.Regex!.ToString()).Select(m => (r.Id, Count: int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))))
            .Where(x => x.Count > 1000)
            .Select(x => x.Id)
            .Distinct()
            .ToList();

        Assert.Empty(tooLarge);
    }

    private static TheoryData<string, string, int> Cases(IReadOnlyList<RuleExample> examples)
    {
        var data = new TheoryData<string, string, int>();
        foreach (var engine in new[] { RulePackFixture.Engines.BuiltIn, RulePackFixture.Engines.Linear })
        {
            foreach (var group in examples.GroupBy(e => e.RuleId))
            {
                for (var i = 0; i < group.Count(); i++)
                {
                    data.Add(engine, group.Key, i);
                }
            }
        }

        return data;
    }

    private static RuleExample Example(IReadOnlyList<RuleExample> examples, string ruleId, int index) =>
        examples.Where(e => e.RuleId == ruleId).ElementAt(index);

    private static string Describe(IEnumerable<TextMatch> matches) =>
        string.Join(", ", matches.Select(m => $"{m.RuleId}@{m.Start}+{m.Length}"));

    [GeneratedRegex("^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    private static partial Regex KebabCase();

    [GeneratedRegex(@"\\[1-9]|\\k<")]
    private static partial Regex Backreference();

    [GeneratedRegex(@"\{(?:\d+,)?(\d+)\}")]
    private static partial Regex CountedRepetition();
}
