namespace Airlock.Core.Egress;

/// <summary>Outcome of one egress check.</summary>
public enum CheckStatus
{
    /// <summary>The deployment meets the check; <see cref="EgressCheck.Evidence"/> says how.</summary>
    Pass,

    /// <summary>The deployment violates the check; <see cref="EgressCheck.Fix"/> says what to change.</summary>
    Fail,

    /// <summary>The check could not be decided (e.g. a name did not resolve) or holds only with a caveat.</summary>
    Unknown,
}

/// <summary>
/// One check of the declared level against the configuration and the live network.
/// </summary>
/// <param name="Id">Stable identifier (<c>upstream.kind</c>, <c>upstream.addresses</c>, <c>egress.proxy</c>…).</param>
/// <param name="Title">What is checked, for people.</param>
/// <param name="Status">Pass, fail or unknown.</param>
/// <param name="Evidence">What was observed: kinds, URLs, resolved addresses, regions. Never a credential.</param>
/// <param name="Fix">What to change when the check fails or is unknown; null when it passes.</param>
/// <param name="Upstream">The upstream the check is about, or null for deployment-wide checks.</param>
public sealed record EgressCheck(string Id, string Title, CheckStatus Status, string Evidence, string? Fix, string? Upstream);

/// <summary>Every egress check of a configuration at its declared level.</summary>
/// <param name="Level">The declared data-egress level.</param>
/// <param name="Checks">The checks, deployment-wide first, then per upstream in file order, then SIEM sinks and the audit store.</param>
public sealed record EgressReport(int Level, IReadOnlyList<EgressCheck> Checks)
{
    /// <summary>True when no check failed (unknown checks do not fail the report; they are shown for review).</summary>
    public bool Passed => Checks.All(c => c.Status != CheckStatus.Fail);
}
