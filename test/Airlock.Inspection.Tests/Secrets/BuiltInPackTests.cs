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
}
