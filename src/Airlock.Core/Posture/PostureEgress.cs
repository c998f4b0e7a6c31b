using Airlock.Core.Egress;

namespace Airlock.Core.Posture;

/// <summary>The egress evaluator's checks in posture form.</summary>
public static class PostureEgress
{
    /// <summary>Converts every check of <paramref name="report"/>, keeping order, ids and evidence.</summary>
    public static IReadOnlyList<PostureCheck> From(EgressReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return [.. report.Checks.Select(c => new PostureCheck(c.Id, c.Title, c.Status switch
        {
            CheckStatus.Pass => PostureStatus.Pass,
            CheckStatus.Fail => PostureStatus.Fail,
            _ => PostureStatus.Unknown,
        }, c.Evidence, c.Fix, c.Upstream))];
    }
}
