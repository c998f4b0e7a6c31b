using System.Net;
using Airlock.Core.Egress;

namespace Airlock.Tests.Egress;

public sealed class AddressClassifierTests
{
    [Theory]
    [InlineData("10.1.2.3", AddressScope.Private)]
    [InlineData("172.16.0.1", AddressScope.Private)]
    [InlineData("172.31.255.255", AddressScope.Private)]
    [InlineData("172.15.255.255", AddressScope.Public)]
    [InlineData("172.32.0.1", AddressScope.Public)]
    [InlineData("192.168.10.20", AddressScope.Private)]
    [InlineData("192.169.0.1", AddressScope.Public)]
    [InlineData("8.8.8.8", AddressScope.Public)]
    [InlineData("127.0.0.1", AddressScope.Loopback)]
    [InlineData("127.255.0.9", AddressScope.Loopback)]
    [InlineData("169.254.169.254", AddressScope.Metadata)]
    [InlineData("169.254.10.1", AddressScope.LinkLocal)]
    [InlineData("100.64.0.1", AddressScope.SharedAddressSpace)]
    [InlineData("100.128.0.1", AddressScope.Public)]
    [InlineData("0.0.0.0", AddressScope.Reserved)]
    [InlineData("224.0.0.1", AddressScope.Reserved)]
    [InlineData("255.255.255.255", AddressScope.Reserved)]
    [InlineData("::1", AddressScope.Loopback)]
    [InlineData("::", AddressScope.Reserved)]
    [InlineData("fd12:3456::1", AddressScope.UniqueLocal)]
    [InlineData("fc00::1", AddressScope.UniqueLocal)]
    [InlineData("fd00:ec2::254", AddressScope.Metadata)]
    [InlineData("fe80::1", AddressScope.LinkLocal)]
    [InlineData("ff02::1", AddressScope.Reserved)]
    [InlineData("2600:1f18::1", AddressScope.Public)]
    [InlineData("64:ff9b::808:808", AddressScope.Reserved)]
    [InlineData("::10.0.0.1", AddressScope.Reserved)]
    public void Classifies_addresses(string text, AddressScope expected) =>
        Assert.Equal(expected, AddressClassifier.Classify(IPAddress.Parse(text)));

    [Theory]
    [InlineData("::ffff:10.0.0.5", AddressScope.Private)]
    [InlineData("::ffff:8.8.4.4", AddressScope.Public)]
    [InlineData("::ffff:127.0.0.1", AddressScope.Loopback)]
    [InlineData("::ffff:169.254.169.254", AddressScope.Metadata)]
    [InlineData("::ffff:192.168.1.1", AddressScope.Private)]
    public void IPv4_mapped_IPv6_is_classified_as_the_IPv4_address_it_carries(string text, AddressScope expected)
    {
        var address = IPAddress.Parse(text);
        Assert.True(address.IsIPv4MappedToIPv6);
        Assert.Equal(expected, AddressClassifier.Classify(address));
    }
}
