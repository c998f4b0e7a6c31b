namespace Airlock.Core.Configuration;

/// <summary>How the gateway may reach its upstreams (<c>egress:</c>), beyond what <see cref="AirlockConfig.Level"/> says.</summary>
public sealed record EgressConfig
{
    /// <summary>
    /// Level 2: accept loopback destinations as private. Meant for tests and single-host trials only (the posture
    /// report marks it); level 3 always accepts loopback, level 1 does not restrict addresses.
    /// </summary>
    public bool AllowLoopback { get; init; }

    /// <summary>
    /// The outbound HTTP proxy every upstream connection goes through, or null for direct connections. Environment
    /// proxies (<c>HTTPS_PROXY</c>) are never used: a proxy must be declared here, and at levels 2 and 3 it must be
    /// on a private address itself.
    /// </summary>
    public Uri? Proxy { get; init; }
}
