using System.Net;
using Airlock.Core.Configuration;

namespace Airlock.Core.Egress;

/// <summary>
/// Which destination addresses a data-egress level accepts. The same rule decides at startup (over the addresses
/// a name resolves to now) and at connect time (over the addresses about to be dialed).
/// </summary>
public sealed class EgressRule
{
    private EgressRule(int level, bool allowLoopback, bool metadataCredentials = false)
    {
        Level = level;
        AllowLoopback = allowLoopback;
        MetadataCredentials = metadataCredentials;
    }

    /// <summary>
    /// True for the rule of a host-local credential fetch (<see cref="ForMetadataCredentials"/>): the well-known AWS
    /// metadata addresses and loopback are allowed too.
    /// </summary>
    public bool MetadataCredentials { get; }

    /// <summary>The declared level (0: none, the quickstart's direct vendor key).</summary>
    public int Level { get; }

    /// <summary>Whether loopback counts as internal (always at level 3, by <c>egress.allow_loopback</c> at level 2).</summary>
    public bool AllowLoopback { get; }

    /// <summary>The rule for a configuration's level.</summary>
    public static EgressRule For(AirlockConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new EgressRule(config.Level, config.Level >= 3 || config.Level < 2 || config.Egress.AllowLoopback);
    }

    /// <summary>The rule for a level (tests and tools).</summary>
    public static EgressRule For(int level, bool allowLoopback) => new(level, level >= 3 || level < 2 || allowLoopback);

    /// <summary>
    /// The rule for fetching credentials from instance or container metadata at <paramref name="config"/>'s level:
    /// the level's rule, plus exactly the well-known AWS metadata addresses
    /// (<see cref="AwsCredentialSource.WellKnownMetadataAddresses"/>) and loopback. A link-local address cannot be
    /// routed off the host's link and loopback never leaves the host, so neither carries anything off the network;
    /// every other link-local, reserved or public address stays refused, so a redirect or a DNS answer cannot turn
    /// the metadata fetch into a connection elsewhere.
    /// </summary>
    public static EgressRule ForMetadataCredentials(AirlockConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new EgressRule(config.Level, config.Level >= 3 || config.Level < 2 || config.Egress.AllowLoopback, metadataCredentials: true);
    }

    /// <summary>What the rule requires, for errors and evidence.</summary>
    public string Requirement => (Level >= 2
        ? $"level {Level} allows only private destinations (RFC 1918, RFC 4193{(AllowLoopback ? ", loopback" : "")})"
        : $"level {Level} refuses link-local, cloud metadata and reserved destinations")
        + (MetadataCredentials ? $"; a metadata credential fetch may also dial loopback and {string.Join(", ", AwsCredentialSource.WellKnownMetadataAddresses)}" : "");

    /// <summary>True when <paramref name="address"/> is allowed (its scope, or a metadata credential fetch's own exceptions).</summary>
    public bool Allows(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var scope = AddressClassifier.Classify(address);
        if (MetadataCredentials && (scope == AddressScope.Loopback || IsWellKnownMetadata(address)))
        {
            return true;
        }
        return Allows(scope);
    }

    private static bool IsWellKnownMetadata(IPAddress address)
    {
        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return AwsCredentialSource.WellKnownMetadataAddresses.Contains(plain);
    }

    /// <summary>True when a connection to an address of <paramref name="scope"/> is allowed.</summary>
    public bool Allows(AddressScope scope) => scope switch
    {
        AddressScope.Private or AddressScope.UniqueLocal => true,
        AddressScope.Loopback => AllowLoopback,
        AddressScope.Public or AddressScope.SharedAddressSpace => Level < 2,
        _ => false,
    };

    /// <summary>
    /// Checks every address <paramref name="host"/> resolved to. One refused address refuses the host: a name that
    /// resolves to both private and public addresses could be dialed on either, so it is not private.
    /// </summary>
    /// <returns>Null when every address is allowed, else the reason naming each refused address and its scope.</returns>
    public string? Check(string host, IReadOnlyList<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count == 0)
        {
            return $"{host} resolved to no address";
        }
        List<string>? refused = null;
        foreach (var address in addresses)
        {
            if (!Allows(address))
            {
                (refused ??= []).Add($"{address} ({AddressClassifier.Describe(AddressClassifier.Classify(address))})");
            }
        }
        return refused is null ? null : $"{host} resolves to {string.Join(", ", refused)}; {Requirement}";
    }

    /// <summary>Evidence text for a list of addresses: each with its scope.</summary>
    public static string DescribeAddresses(IReadOnlyList<IPAddress> addresses) =>
        string.Join(", ", addresses.Select(a => $"{a} ({AddressClassifier.Describe(AddressClassifier.Classify(a))})"));
}
