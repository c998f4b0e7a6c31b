using System.Net;
using Airlock.Core.Egress;

namespace Airlock.Tests.Egress;

public sealed class EgressRuleTests
{
    private static IPAddress[] Addresses(params string[] texts) => texts.Select(IPAddress.Parse).ToArray();

    [Fact]
    public void Level_2_refuses_a_host_resolving_to_both_private_and_public_addresses_naming_the_public_one()
    {
        var reason = EgressRule.For(2, allowLoopback: false).Check("bedrock.internal", Addresses("10.0.0.5", "3.3.3.3"));

        Assert.NotNull(reason);
        Assert.Contains("3.3.3.3 (public)", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("10.0.0.5", reason, StringComparison.Ordinal);
        Assert.Contains("level 2", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Level_2_accepts_private_and_unique_local_addresses()
    {
        Assert.Null(EgressRule.For(2, allowLoopback: false).Check("vpce", Addresses("10.0.0.5", "172.20.1.1", "192.168.0.9", "fd00:1::5")));
    }

    [Fact]
    public void Level_2_refuses_an_IPv4_mapped_public_address()
    {
        var reason = EgressRule.For(2, allowLoopback: false).Check("mapped", Addresses("::ffff:52.1.2.3"));

        Assert.NotNull(reason);
        Assert.Contains("public", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Level_2_accepts_loopback_only_when_allowed_and_level_3_always()
    {
        Assert.NotNull(EgressRule.For(2, allowLoopback: false).Check("localhost", Addresses("127.0.0.1")));
        Assert.Null(EgressRule.For(2, allowLoopback: true).Check("localhost", Addresses("127.0.0.1", "::1")));
        Assert.Null(EgressRule.For(3, allowLoopback: false).Check("localhost", Addresses("127.0.0.1")));
        Assert.NotNull(EgressRule.For(3, allowLoopback: false).Check("ollama", Addresses("8.8.8.8")));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_level_refuses_metadata_link_local_and_reserved_addresses(int level)
    {
        var rule = EgressRule.For(level, allowLoopback: true);
        foreach (var address in new[] { "169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "169.254.1.1", "fe80::1", "0.0.0.0", "224.0.0.1" })
        {
            Assert.NotNull(rule.Check("h", Addresses(address)));
        }
    }

    [Fact]
    public void Level_1_accepts_public_addresses()
    {
        Assert.Null(EgressRule.For(1, allowLoopback: false).Check("bedrock-runtime.us-east-1.amazonaws.com", Addresses("52.94.1.1", "10.0.0.1")));
    }

    [Fact]
    public void A_name_that_resolves_to_nothing_is_refused()
    {
        Assert.NotNull(EgressRule.For(1, allowLoopback: false).Check("empty", []));
    }
}
