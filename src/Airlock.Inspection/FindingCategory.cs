namespace Airlock.Inspection;

/// <summary>What kind of sensitive content a rule detects. Actions default per category.</summary>
public enum FindingCategory
{
    /// <summary>Credentials, tokens, private keys, connection strings.</summary>
    Secret,

    /// <summary>Personal data: email, phone, payment card, IBAN, national ids, IP addresses.</summary>
    PersonalData,

    /// <summary>Organization dictionaries and patterns: customer names, project codenames.</summary>
    OrganizationTerm,
}

/// <summary>How sure a rule is that a match is real. Identifiable tokens (prefix + checksum) are High.</summary>
public enum Confidence
{
    /// <summary>Heuristic match (generic assignment, entropy gated).</summary>
    Low,

    /// <summary>Structured match with context (keyword + format).</summary>
    Medium,

    /// <summary>Identifiable format (unique prefix, checksum validated, PEM armor).</summary>
    High,
}

/// <summary>What the gateway does with a finding.</summary>
public enum InspectionAction
{
    /// <summary>Let the content pass and record the finding.</summary>
    Alert,

    /// <summary>Replace the value with a deterministic typed placeholder.</summary>
    Redact,

    /// <summary>Refuse the request (or end the stream) naming rule and location, never the value.</summary>
    Block,
}
