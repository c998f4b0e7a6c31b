using System.Net;
using System.Net.Sockets;

namespace Airlock.Core.Egress;

/// <summary>Where an IP address leads, as far as data egress is concerned.</summary>
public enum AddressScope
{
    /// <summary>Reachable over the public internet.</summary>
    Public,

    /// <summary>RFC 1918 (10/8, 172.16/12, 192.168/16).</summary>
    Private,

    /// <summary>RFC 4193 unique local IPv6 (fc00::/7).</summary>
    UniqueLocal,

    /// <summary>127/8 or ::1: this machine.</summary>
    Loopback,

    /// <summary>169.254/16 or fe80::/10: never a model server, a favourite target of request forgery.</summary>
    LinkLocal,

    /// <summary>Cloud instance metadata (169.254.169.254, fd00:ec2::254): hands out the machine's credentials.</summary>
    Metadata,

    /// <summary>100.64/10 carrier-grade NAT (RFC 6598): not private in the RFC 1918 sense.</summary>
    SharedAddressSpace,

    /// <summary>Unspecified, multicast, broadcast, reserved, deprecated IPv4-compatible or NAT64-translated forms.</summary>
    Reserved,
}

/// <summary>Classifies IP addresses. IPv4-mapped IPv6 (<c>::ffff:a.b.c.d</c>) is classified as the IPv4 address it carries.</summary>
public static class AddressClassifier
{
    /// <summary>The scope of <paramref name="address"/>.</summary>
    public static AddressScope Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        return address.AddressFamily == AddressFamily.InterNetwork ? ClassifyV4(address) : ClassifyV6(address);
    }

    /// <summary>True for the scopes that never leave the organization's network (private, unique local, loopback).</summary>
    public static bool IsInternal(AddressScope scope) => scope is AddressScope.Private or AddressScope.UniqueLocal or AddressScope.Loopback;

    /// <summary>Short lower-case name used in evidence and errors (<c>public</c>, <c>rfc1918</c>, <c>metadata</c>…).</summary>
    public static string Describe(AddressScope scope) => scope switch
    {
        AddressScope.Public => "public",
        AddressScope.Private => "private RFC 1918",
        AddressScope.UniqueLocal => "unique-local RFC 4193",
        AddressScope.Loopback => "loopback",
        AddressScope.LinkLocal => "link-local",
        AddressScope.Metadata => "cloud metadata service",
        AddressScope.SharedAddressSpace => "shared address space RFC 6598",
        _ => "reserved",
    };

    private static AddressScope ClassifyV4(IPAddress address)
    {
        Span<byte> b = stackalloc byte[4];
        address.TryWriteBytes(b, out _);
        return b[0] switch
        {
            0 => AddressScope.Reserved,
            10 => AddressScope.Private,
            127 => AddressScope.Loopback,
            100 when (b[1] & 0xC0) == 64 => AddressScope.SharedAddressSpace,
            169 when b[1] == 254 => b[2] == 169 && b[3] == 254 ? AddressScope.Metadata : AddressScope.LinkLocal,
            172 when (b[1] & 0xF0) == 16 => AddressScope.Private,
            192 when b[1] == 168 => AddressScope.Private,
            >= 224 => AddressScope.Reserved, // multicast 224/4, reserved 240/4, broadcast
            _ => AddressScope.Public,
        };
    }

    private static AddressScope ClassifyV6(IPAddress address)
    {
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        if (address.Equals(IPAddress.IPv6Loopback))
        {
            return AddressScope.Loopback;
        }
        // AWS instance metadata over IPv6 (fd00:ec2::254) sits inside the unique-local range: test it first.
        if (address.Equals(AwsMetadataV6))
        {
            return AddressScope.Metadata;
        }
        if (b[..10].IndexOfAnyExcept((byte)0) < 0 && b[10] == 0 && b[11] == 0)
        {
            return AddressScope.Reserved; // :: and the deprecated IPv4-compatible ::a.b.c.d
        }
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B)
        {
            return AddressScope.Reserved; // 64:ff9b::/96 NAT64: a translator relays it to IPv4, usually the internet
        }
        return b[0] switch
        {
            0xFF => AddressScope.Reserved, // multicast
            0xFE when (b[1] & 0xC0) == 0x80 => AddressScope.LinkLocal,
            _ when (b[0] & 0xFE) == 0xFC => AddressScope.UniqueLocal,
            _ => AddressScope.Public,
        };
    }

    private static readonly IPAddress AwsMetadataV6 = IPAddress.Parse("fd00:ec2::254");
}
