namespace Airlock.Inspection.Policy;

/// <summary>
/// One ordered policy rule as it comes from configuration. Every criterion is optional; an
/// absent or empty list matches anything. Values stay strings so the configuration layer can
/// pass what the reviewer wrote and get every mistake back from <see cref="InspectionPolicy.Validate"/>.
/// </summary>
public sealed record ActionRule
{
    /// <summary>Rule ids or globs (<c>*</c>, <c>?</c>), e.g. <c>aws-*</c>. Any one must match.</summary>
    public IReadOnlyList<string>? RuleIds { get; init; }

    /// <summary>Categories: <c>secret</c>, <c>personal-data</c> (alias <c>pii</c>), <c>organization-term</c>.</summary>
    public IReadOnlyList<string>? Categories { get; init; }

    /// <summary>Teams (ordinal, case-insensitive). A request without a team never matches a rule that names teams.</summary>
    public IReadOnlyList<string>? Teams { get; init; }

    /// <summary><c>alert</c>, <c>redact</c> or <c>block</c> (output rules: <c>alert</c> or <c>block</c>).</summary>
    public string? Action { get; init; }
}

/// <summary>
/// Plain, bindable description of an <see cref="InspectionPolicy"/>: what the gateway's YAML
/// layer fills in. Build the policy with <see cref="InspectionPolicy.Create"/>.
/// </summary>
public sealed record InspectionPolicyOptions
{
    /// <summary>Request rules, first match wins; unmatched findings get the category defaults.</summary>
    public IReadOnlyList<ActionRule>? Rules { get; init; }

    /// <summary>Response (streamed answer) rules, first match wins. Redaction is not possible on output.</summary>
    public IReadOnlyList<ActionRule>? OutputRules { get; init; }

    /// <summary>Action for output findings no output rule matched: <c>alert</c> (default) or <c>block</c>.</summary>
    public string? OutputDefault { get; init; }
}
