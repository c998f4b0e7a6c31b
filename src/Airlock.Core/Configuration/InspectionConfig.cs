namespace Airlock.Core.Configuration;

/// <summary>The <c>inspection:</c> section: what is scanned, with which rules, and what happens to findings.</summary>
public sealed record InspectionConfig
{
    /// <summary>Inspect requests and answers. On by default: turning it off is a visible, reviewed decision.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>When inspection itself fails (bug, limit), refuse the request (true, default) or let it pass recorded (false).</summary>
    public bool FailClosed { get; init; } = true;

    /// <summary>Load the rule pack shipped with Airlock.</summary>
    public bool BuiltInRules { get; init; } = true;

    /// <summary>Extra rule packs (gitleaks TOML, read as is), absolute paths, loaded after the built-in pack (same ids override).</summary>
    public IReadOnlyList<string> RulePacks { get; init; } = [];

    /// <summary>Scan base64 image/document payloads too (off: they are skipped, and the skip is documented).</summary>
    public bool ScanMedia { get; init; }

    /// <summary>Personal-data detection.</summary>
    public PersonalDataConfig PersonalData { get; init; } = new();

    /// <summary>Organization dictionaries and patterns.</summary>
    public IReadOnlyList<TermListConfig> Terms { get; init; } = [];

    /// <summary>Ordered action rules for requests; first match wins; defaults apply after.</summary>
    public IReadOnlyList<ActionRuleConfig> Actions { get; init; } = [];

    /// <summary>Default action on findings in streamed answers: alert (default) or block (ends the stream with an error event).</summary>
    public string OutputAction { get; init; } = "alert";

    /// <summary>Ordered action rules for answers.</summary>
    public IReadOnlyList<ActionRuleConfig> OutputActions { get; init; } = [];
}

/// <summary>The <c>inspection.personal_data</c> section.</summary>
public sealed record PersonalDataConfig
{
    /// <summary>Detect personal data at all.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Entities switched off (<c>email</c>, <c>phone</c>, <c>payment-card</c>, <c>iban</c>, <c>us-ssn</c>, <c>ip-address</c>).</summary>
    public IReadOnlyList<string> Disabled { get; init; } = [];

    /// <summary>Region used to read phone numbers written without a country code (ISO 3166 alpha-2).</summary>
    public string PhoneRegion { get; init; } = "US";

    /// <summary>Lowest confidence reported: low, medium or high.</summary>
    public string MinConfidence { get; init; } = "medium";
}

/// <summary>One organization term list (<c>inspection.terms[]</c>): rule id <c>org-NAME</c>.</summary>
public sealed record TermListConfig
{
    /// <summary>List name; findings carry rule id <c>org-NAME</c>.</summary>
    public required string Name { get; init; }

    /// <summary>File with one term per line (# comments), absolute path.</summary>
    public string? File { get; init; }

    /// <summary>Terms listed inline.</summary>
    public IReadOnlyList<string> Terms { get; init; } = [];

    /// <summary>Regex patterns (run in linear time).</summary>
    public IReadOnlyList<string> Patterns { get; init; } = [];

    /// <summary>Action for this list's findings (alert, redact, block); unset = alert.</summary>
    public string? Action { get; init; }
}

/// <summary>One action rule: which findings (rule id globs, categories, teams) get which action.</summary>
public sealed record ActionRuleConfig
{
    /// <summary>Rule id globs, e.g. <c>generic-*</c>.</summary>
    public IReadOnlyList<string> Rules { get; init; } = [];

    /// <summary>Categories: secret, personal-data, organization-term.</summary>
    public IReadOnlyList<string> Categories { get; init; } = [];

    /// <summary>Teams the rule applies to (empty: all).</summary>
    public IReadOnlyList<string> Teams { get; init; } = [];

    /// <summary>alert, redact or block.</summary>
    public required string Action { get; init; }
}
