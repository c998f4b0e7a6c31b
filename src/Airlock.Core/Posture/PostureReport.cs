namespace Airlock.Core.Posture;

/// <summary>Outcome of one posture check.</summary>
public enum PostureStatus
{
    /// <summary>Met; the evidence says how.</summary>
    Pass,

    /// <summary>Not met; the fix says what to change. Any failure makes <c>airlock posture</c> exit non-zero.</summary>
    Fail,

    /// <summary>Could not be decided here (offline, not observable from the gateway); shown for review, never a failure.</summary>
    Unknown,
}

/// <summary>One check with its evidence.</summary>
/// <param name="Id">Stable identifier (<c>upstream.addresses</c>, <c>audit.chain</c>, <c>checklist.mcp_allowlist</c>…).</param>
/// <param name="Title">What is checked.</param>
/// <param name="Status">Pass, fail or unknown.</param>
/// <param name="Evidence">What was observed. Names of credential sources, never their values.</param>
/// <param name="Fix">What to do when it fails or is unknown; null when it passes.</param>
/// <param name="Upstream">The upstream it is about, or null.</param>
public sealed record PostureCheck(string Id, string Title, PostureStatus Status, string Evidence, string? Fix = null, string? Upstream = null);

/// <summary>Where one upstream processes prompts, and the vendor terms that follow from its kind.</summary>
/// <param name="Upstream">Upstream name.</param>
/// <param name="Kind">Upstream kind (<c>anthropic</c>, <c>bedrock</c>, <c>vertex</c>, <c>messages</c>, <c>openai</c>, <c>simulated</c>).</param>
/// <param name="Endpoint">Scheme and host dialed (or the regional endpoint implied by the region).</param>
/// <param name="ProcessedIn">Where prompts are processed (a vendor, cloud regions, a host of the organization).</param>
/// <param name="Retention">Vendor retention of prompts and answers, as a configuration fact of this kind.</param>
/// <param name="Training">Whether the vendor trains on them.</param>
/// <param name="Credential">Where the gateway's credential for it comes from (a variable or file name, a provider chain): never a value.</param>
/// <param name="OnPremises">True when the data stays on the organization's machines.</param>
public sealed record UpstreamFacts(string Upstream, string Kind, string Endpoint, string ProcessedIn, string Retention, string Training, string Credential, bool OnPremises);

/// <summary>One route: the model globs and the upstreams tried in order.</summary>
/// <param name="Models">Model name globs.</param>
/// <param name="Upstreams">Primary upstream, then fallbacks.</param>
public sealed record RouteFacts(IReadOnlyList<string> Models, IReadOnlyList<string> Upstreams);

/// <summary>One row of the levels decision matrix: what each level allows or requires.</summary>
/// <param name="Question">The question the row answers.</param>
/// <param name="Level1">Answer at level 1.</param>
/// <param name="Level2">Answer at level 2.</param>
/// <param name="Level3">Answer at level 3.</param>
/// <param name="ThisDeployment">What this deployment does.</param>
public sealed record MatrixRow(string Question, string Level1, string Level2, string Level3, string ThisDeployment);

/// <summary>
/// The posture of one deployment: computed from its configuration and live checks, never written by hand. Rendered as
/// Markdown (with a Mermaid data-flow diagram), self-contained HTML (with an inline SVG diagram) or JSON.
/// </summary>
public sealed record PostureReport
{
    /// <summary>When the checks ran (UTC).</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>The configuration file (or quickstart description) the report is about.</summary>
    public required string ConfigSource { get; init; }

    /// <summary>The declared data-egress level (1–3; 0 when none).</summary>
    public required int Level { get; init; }

    /// <summary>True when name resolution and live probes were skipped (<c>--offline</c>).</summary>
    public bool Offline { get; init; }

    /// <summary>Checks of the declared level and of the gateway's own controls, with evidence.</summary>
    public required IReadOnlyList<PostureCheck> Checks { get; init; }

    /// <summary>The pre-adoption checklist.</summary>
    public required IReadOnlyList<PostureCheck> Checklist { get; init; }

    /// <summary>The decision matrix for levels 1–3; <see cref="Level"/> is this deployment's column.</summary>
    public required IReadOnlyList<MatrixRow> Matrix { get; init; }

    /// <summary>Per upstream: where data is processed, retention, training, credential source.</summary>
    public required IReadOnlyList<UpstreamFacts> Upstreams { get; init; }

    /// <summary>The routes, in match order.</summary>
    public required IReadOnlyList<RouteFacts> Routes { get; init; }

    /// <summary>True when no check and no checklist item failed.</summary>
    public bool Passed => Checks.Concat(Checklist).All(c => c.Status != PostureStatus.Fail);

    /// <summary>Counts of pass, fail and unknown over checks and checklist.</summary>
    public (int Pass, int Fail, int Unknown) Totals
    {
        get
        {
            var all = Checks.Concat(Checklist).ToList();
            return (all.Count(c => c.Status == PostureStatus.Pass), all.Count(c => c.Status == PostureStatus.Fail), all.Count(c => c.Status == PostureStatus.Unknown));
        }
    }
}
