using Airlock.Core.Egress;

namespace Airlock.Tests.Egress;

public sealed class RegionRuleTests
{
    [Theory]
    [InlineData("anthropic.claude-sonnet-4-5-20250929-v1:0", "eu-central-1", null)]
    [InlineData("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu-central-1", "'eu'")]
    [InlineData("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu-central-1,eu", null)]
    [InlineData("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu-central-1,eu", "'global'")]
    [InlineData("us-gov.anthropic.claude-3-haiku", "us-gov-west-1", "'us-gov'")]
    [InlineData("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-1", "eu-west-1", "region us-east-1")]
    [InlineData("arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abc123", "eu-west-1", null)]
    public void Cross_region_profiles_and_foreign_ARNs_leave_the_allowed_regions(string model, string allowed, string? expected)
    {
        var reason = RegionRule.CheckBedrockModel(model, allowed.Split(','));
        if (expected is null)
        {
            Assert.Null(reason);
        }
        else
        {
            Assert.NotNull(reason);
            Assert.Contains(expected, reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void No_allowed_regions_means_any()
    {
        Assert.Null(RegionRule.CheckBedrockModel("global.anthropic.claude-sonnet-4-5", []));
    }
}
