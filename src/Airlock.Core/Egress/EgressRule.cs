using System.Net;
using Airlock.Core.Configuration;

namespace Airlock.Core.Egress;

/// <summary>
/// Which destination addresses a data-egress level accepts. The same rule decides at startup (over the addresses
/// a name resolves to now) and at connect time (over the addresses about to be dialed).
/// </summary>
public sealed class EgressRule
{
    private EgressRule(int level, bool allowLoopback)
    {
        Level = level;
        AllowLoopback = allowLoopback;
    }

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

    /// <summary>What the rule requires, for errors and evidence.</summary>
    public string Requirement => Level >= 2
        ? $"level {Level} allows only private destinations (RFC 1918, RFC 4193{(AllowLoopback ? ", loopback" : "")})"
        : $"level {Level} refuses link-local, cloud metadata and reserved destinations";

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
            var scope = AddressClassifier.Classify(address);
            if (!Allows(scope))
            {
                (refused ??= []).Add($"{address} ({AddressClassifier.Describe(scope)})");
            }
        }
        return refused is null ? null : $"{host} resolves to {string.Join(", ", refused)}; {Requirement}";
    }

    /// <summary>Evidence text for a list of addresses: each with its scope.</summary>
    public static string DescribeAddresses(IReadOnlyList<IPAddress> addresses) =>
        string.Join(", ", addresses.Select(a => $"{a} ({AddressClassifier.Describe(AddressClassifier.Classify(a))})"));
}
