using System.Text.RegularExpressions;

namespace Airlock.Inspection.Tests.Secrets;

public class RuleRequirementsTests
{
    private const string AssignmentPattern = """(?i:api[_.-]?key|secret|token)[A-Za-z0-9_]{0,20}["'\]]{0,2}[ \t]{0,4}(?::=|=>|=|:)[ \t]{0,4}["'`]([A-Za-z0-9_./+~=!@#%^&*-]{12,128})["'`]""";

    [Theory]
    [InlineData("var token = await provider.GetTokenAsync(cancellationToken);")]
    [InlineData("_logger.LogDebug(\"cache miss for {Key}\", cacheKey);")]
    [InlineData("secretStore.Read(name)")]
    public void Lines_that_only_mention_a_keyword_fail_the_check(string line)
    {
        var requirements = RuleRequirements.Analyze(AssignmentPattern);

        Assert.False(requirements.MayMatch(line, out _));
        Assert.DoesNotMatch(new Regex(AssignmentPattern), line);
    }

    [Fact]
    public void The_check_never_rejects_a_window_the_regex_matches_in()
    {
        // Random lines built from the pattern's own vocabulary: whenever the regex matches, the check must pass,
        // and the regex must still match from the start the check allows.
        var regex = new Regex(AssignmentPattern);
        var requirements = RuleRequirements.Analyze(AssignmentPattern);
        // Each slot of an assignment, with variants that break it, so roughly half the lines match.
        string[][] slots =
        [
            ["", "  var x = f(); ", "\"quoted\" ", "x "],
            ["api_key", "TOKEN", "secret", "apikey", "name"],
            ["", "Value", "\"", "']"],
            ["", " ", "\t "],
            ["=", ":", "=>", ":=", "", "+"],
            ["", " "],
            ["\"", "'", "`", ""],
            ["aB3xY9kQ2mZ7pL4w", "s3cr3tValue/+==xx", "short", "has space in it"],
            ["\"", "'", "`", ";"],
            ["", ";", " // note"],
        ];
        var random = new Random(11);
        var matched = 0;
        for (var round = 0; round < 3000; round++)
        {
            var line = string.Concat(slots.Select(slot => slot[random.Next(slot.Length)]));
            var match = regex.Match(line);
            var may = requirements.MayMatch(line, out var skip);
            if (match.Success)
            {
                matched++;
                Assert.True(may, $"rejected a matching line of {line.Length} chars");
                Assert.True(skip <= match.Index, "skipped past the start of a match");
            }
        }

        Assert.True(matched > 50, $"only {matched} random lines matched; the property was barely exercised");
    }

    [Theory]
    [InlineData("""\b(ghp_[A-Za-z0-9]{36})\b""", "Line")]
    [InlineData("""-----BEGIN[ A-Z]{0,40}PRIVATE KEY-----[\s\S]{64,}?-----END""", "Unbounded")]
    [InlineData("""(?i:endpoint)=[^;]{1,100};key=([a-z0-9]{20})""", "NearbyLines")]
    public void Reach_says_whether_matches_can_cross_lines(string pattern, string reach)
    {
        Assert.Equal(reach, RuleRequirements.Analyze(pattern).Reach.ToString());
    }

    [Theory]
    [InlineData("""(a""")]
    [InlineData("""(?x) a b""")]
    public void Patterns_it_cannot_read_get_no_requirements_and_the_widest_reach(string pattern)
    {
        var requirements = RuleRequirements.Analyze(pattern);

        Assert.Equal(0, requirements.Count);
        Assert.Equal(RuleReach.Unbounded, requirements.Reach);
        Assert.True(requirements.MayMatch("anything", out var skip));
        Assert.Equal(0, skip);
    }
}
